variable "name" {
  description = "Function name (unique in the account and region); also the name of its log group, the prefix of its role's name, and its Powertools service name unless service_name is set."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,64}$", var.name))
    error_message = "name must be 1-64 characters of letters, digits, '_' or '-' (a Lambda function name)."
  }
}

variable "description" {
  description = "Description of the function."
  type        = string
  default     = ""
}

variable "image_uri" {
  description = "ECR image URI of the function (build.py writes it to build/images.auto.tfvars.json)."
  type        = string

  validation {
    condition     = can(regex("^[^\\s]+[:@][^\\s]+$", var.image_uri))
    error_message = "image_uri must be repository:tag or repository@sha256:digest."
  }
}

variable "image_command" {
  description = "Overrides the image's CMD, i.e. the handler (one image serving several functions). null: the image's own."
  type        = list(string)
  default     = null
}

variable "architecture" {
  description = "Instruction set of the image: x86_64 or arm64 (build.py --arch)."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "memory_size" {
  description = "Memory in MB (CPU grows with it: a full vCPU at 1769 MB)."
  type        = number
  default     = 1024

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240 && floor(var.memory_size) == var.memory_size
    error_message = "memory_size must be a whole number of MB from 128 to 10240."
  }
}

variable "timeout" {
  description = "Timeout in seconds."
  type        = number
  default     = 60

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900 && floor(var.timeout) == var.timeout
    error_message = "timeout must be a whole number of seconds from 1 to 900."
  }
}

variable "reserved_concurrent_executions" {
  description = "Reserved concurrency: a hard cap on parallel invocations, taken out of the account's pool. null: unreserved."
  type        = number
  default     = null

  validation {
    condition     = var.reserved_concurrent_executions == null || try(var.reserved_concurrent_executions >= 0 && floor(var.reserved_concurrent_executions) == var.reserved_concurrent_executions, false)
    error_message = "reserved_concurrent_executions must be null (unreserved) or a whole number (0 stops the function)."
  }
}

variable "environment" {
  description = "Environment variables of the function. POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE and POWERTOOLS_LOG_LEVEL are set by the module."
  type        = map(string)
  default     = {}

  validation {
    condition     = length(setintersection(keys(var.environment), ["POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL"])) == 0
    error_message = "environment must not set POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE or POWERTOOLS_LOG_LEVEL: use service_name, metrics_namespace and log_level."
  }
}

variable "service_name" {
  description = "Powertools service name: the service dimension of the function's custom metrics and alarms. null: the function name, which keeps two stacks of one module apart."
  type        = string
  default     = null
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the function's custom metrics (POWERTOOLS_METRICS_NAMESPACE)."
  type        = string
  default     = "logpipes"

  validation {
    condition     = can(regex("^[a-zA-Z0-9._/#:-]{1,255}$", var.metrics_namespace)) && !startswith(var.metrics_namespace, "AWS/")
    error_message = "metrics_namespace must be 1-255 characters of letters, digits, . _ / # : - and not start with AWS/."
  }
}

variable "log_level" {
  description = "Powertools log level of the function."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}

variable "tracing_mode" {
  description = "X-Ray tracing: PassThrough (the default: no handler uses the Powertools Tracer, so Active would only record Lambda's own segments) or Active (adds the X-Ray write permissions)."
  type        = string
  default     = "PassThrough"

  validation {
    condition     = contains(["PassThrough", "Active"], var.tracing_mode)
    error_message = "tracing_mode must be PassThrough or Active."
  }
}

variable "vpc_config" {
  description = "Subnets and security groups to run the function in (null: no VPC). The role gets the network interface permissions Lambda needs."
  type = object({
    subnet_ids         = list(string)
    security_group_ids = list(string)
  })
  default = null

  validation {
    condition     = var.vpc_config == null || try(length(var.vpc_config.subnet_ids) > 0 && length(var.vpc_config.security_group_ids) > 0, false)
    error_message = "vpc_config needs at least one subnet and one security group."
  }
}

variable "file_system_config" {
  description = "EFS access point the function mounts, and where (/mnt/<name>); needs vpc_config."
  type = object({
    access_point_arn = string
    local_mount_path = string
  })
  default = null

  validation {
    condition     = var.file_system_config == null || (var.vpc_config != null && can(regex("^/mnt/[a-zA-Z0-9._-]+$", try(var.file_system_config.local_mount_path, ""))))
    error_message = "file_system_config needs vpc_config, and a local_mount_path of /mnt/<name>."
  }
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for the log group and the function's environment. null: the services' own encryption (still encrypted)."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), not an alias."
  }
}

variable "log_retention_in_days" {
  description = "Retention of the function's log group."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_in_days)
    error_message = "log_retention_in_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)."
  }
}

# --- The role ---

variable "create_role" {
  description = "Create the execution role. false: use role_arn (a flag, so that role_arn may come from a resource created in the same apply)."
  type        = bool
  default     = true

  validation {
    condition     = var.create_role ? var.role_arn == null : var.role_arn != null
    error_message = "role_arn goes with create_role = false, and create_role = false needs role_arn."
  }
}

variable "role_arn" {
  description = "With create_role = false: the execution role to use. It needs what the policy_documents grant, and logs:CreateLogStream and logs:PutLogEvents on the log group (output log_group_arn)."
  type        = string
  default     = null

  validation {
    condition     = var.role_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", coalesce(var.role_arn, "-")))
    error_message = "role_arn must be an IAM role ARN."
  }
}

variable "role_name" {
  description = "Name of the created role. null: a name generated from the function name."
  type        = string
  default     = null

  validation {
    condition     = var.role_name == null || can(regex("^[a-zA-Z0-9+=,.@_-]{1,64}$", coalesce(var.role_name, "-")))
    error_message = "role_name must be 1-64 characters of letters, digits and +=,.@_-."
  }
}

variable "role_path" {
  description = "Path of the created role."
  type        = string
  default     = "/"

  validation {
    condition     = can(regex("^/([\\x21-\\x7e]+/)?$", var.role_path))
    error_message = "role_path must start and end with '/'."
  }
}

variable "permissions_boundary" {
  description = "ARN of the managed policy that is the permissions boundary of the created role (null: none)."
  type        = string
  default     = null

  validation {
    condition     = var.permissions_boundary == null || can(regex("^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/.+$", coalesce(var.permissions_boundary, "-")))
    error_message = "permissions_boundary must be an IAM policy ARN."
  }
}

variable "policy_documents" {
  description = "IAM policy documents (JSON) merged into the created role's policy, next to its own-logs statement (source_policy_documents: statement ids must be unique)."
  type        = list(string)
  default     = []
}

# --- Alarms ---

variable "create_alarms" {
  description = "Create the alarms: the function's Errors and Throttles, and those in alarms."
  type        = bool
  default     = true
}

variable "alarms" {
  description = "More alarms of this function's pipeline, by key (alarm name: <alarm_name_prefix>-<key>; the function's own are <name>-errors and <name>-throttles), over 5 minutes. dimensions null: { service = <service name> } for a custom metric, { FunctionName = <name> } for an AWS/ namespace."
  type = map(object({
    description = string
    namespace   = string
    metric      = string
    statistic   = optional(string, "Sum")
    threshold   = optional(number, 0)
    comparison  = optional(string, "GreaterThanThreshold")
    dimensions  = optional(map(string))
  }))
  default = {}

  validation {
    condition     = length(setintersection(keys(var.alarms), ["errors", "throttles"])) == 0
    error_message = "alarms must not use the keys errors and throttles: the module creates those."
  }
}

variable "alarm_name_prefix" {
  description = "Prefix of the names of the alarms in alarms. null: the function name."
  type        = string
  default     = null
}

variable "alarm_actions" {
  description = "ARNs (e.g. SNS topics) notified when an alarm fires and when it recovers."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.alarm_actions : can(regex("^arn:aws[a-z-]*:[a-z0-9-]+:", arn))])
    error_message = "alarm_actions must be ARNs (SNS topics, Auto Scaling, EC2 or Systems Manager actions)."
  }
}

variable "tags" {
  description = "Tags for every resource the module creates."
  type        = map(string)
  default     = {}
}
