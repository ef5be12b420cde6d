variable "name" {
  description = "Name of the archiver Lambda function; also the prefix of every resource the module creates."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,48}$", var.name))
    error_message = "name must be 1-48 characters of letters, digits, '_' or '-'."
  }
}

variable "image_uri" {
  description = "Image URI of the subscription_filter function (build.py writes it to build/images.auto.tfvars.json); lambda-function checks it is repository:tag or repository@sha256:digest."
  type        = string
}

variable "architecture" {
  description = "Instruction set of the image: x86_64 (build.py's default) or arm64 (lambda-function validates it)."
  type        = string
  default     = "x86_64"
}

variable "vpc_id" {
  description = "VPC of the Lambda function and the EFS mount targets."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]+$", var.vpc_id))
    error_message = "vpc_id must be a VPC ID (vpc-...)."
  }
}

variable "subnet_ids" {
  description = "Private subnets of the Lambda function, one per availability zone; the module puts an EFS mount target in each (when it creates the file system). The function calls no AWS API, so the subnets need no NAT or endpoints."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 1 && length(var.subnet_ids) <= 16 && alltrue([for id in var.subnet_ids : can(regex("^subnet-[0-9a-f]+$", id))])
    error_message = "subnet_ids must hold 1 to 16 subnet IDs (subnet-...)."
  }
}

variable "existing_file_system" {
  description = "Use this EFS file system (whose mount targets exist) instead of creating one: its ID, and the security group of its mount targets, which gets an NFS rule from the function."
  type = object({
    id                = string
    security_group_id = string
  })
  default = null

  validation {
    condition     = var.existing_file_system == null || (can(regex("^fs-[0-9a-f]+$", try(var.existing_file_system.id, ""))) && can(regex("^sg-[0-9a-f]+$", try(var.existing_file_system.security_group_id, ""))))
    error_message = "existing_file_system needs id (fs-...) and security_group_id (sg-...)."
  }
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for the file system, the failure queue, the function's log group and environment. null: AWS managed encryption (EFS aws/elasticfilesystem key, SQS-managed SSE), still encrypted."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), not an alias."
  }
}

variable "enforce_encryption_in_transit" {
  description = "Give the file system the module creates a policy that refuses NFS clients without TLS, and lets the function mount it through its access point only."
  type        = bool
  default     = true
}

variable "enable_backup" {
  description = "Turn on automatic AWS Backup of the file system the module creates (false: the module leaves its backup policy alone)."
  type        = bool
  default     = true
}

variable "posix_user" {
  description = "POSIX user and group the function reads and writes as, through the access point (owner of its root directory)."
  type = object({
    uid = number
    gid = number
  })
  default = { uid = 1000, gid = 1000 }

  validation {
    condition     = var.posix_user.uid > 0 && var.posix_user.gid > 0 && var.posix_user.uid <= 4294967295 && var.posix_user.gid <= 4294967295
    error_message = "posix_user uid and gid must be non-root IDs (1 to 4294967295)."
  }
}

variable "root_directory" {
  description = "Directory of the file system exposed through the access point: the archive root (created with mode 0750 for posix_user)."
  type        = string
  default     = "/logpipes/archive"

  validation {
    condition     = can(regex("^(/[a-zA-Z0-9._-]+)+$", var.root_directory)) && !strcontains(var.root_directory, "/..")
    error_message = "root_directory must be an absolute path like /logpipes/archive (no '..')."
  }
}

variable "mount_path" {
  description = "Where the function mounts the access point (ARCHIVE_ROOT)."
  type        = string
  default     = "/mnt/archive"

  validation {
    condition     = can(regex("^/mnt/[a-zA-Z0-9._-]+$", var.mount_path))
    error_message = "mount_path must be /mnt/<name> (a Lambda requirement)."
  }
}

variable "time_zone" {
  description = "IANA time zone in which days start and timestamps are written, e.g. Asia/Tokyo."
  type        = string
  default     = "UTC"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$", var.time_zone))
    error_message = "time_zone must be an IANA zone name such as UTC or Asia/Tokyo."
  }
}

variable "line_format" {
  description = "\"csv\": label values, timestamp, log stream, message. \"json\": one object per line with the labels as fields, then timestamp, log_group, log_stream, id, message."
  type        = string
  default     = "csv"

  validation {
    condition     = contains(["csv", "json"], var.line_format)
    error_message = "line_format must be \"csv\" or \"json\"."
  }
}

variable "labels" {
  description = "Fixed labels written on every line: the first CSV columns, or the first JSON fields, in the alphabetical order of their names (Terraform sorts map keys)."
  type        = map(string)
  default     = {}

  validation {
    condition     = length(setintersection(keys(var.labels), ["timestamp", "log_group", "log_stream", "id", "message"])) == 0
    error_message = "labels may not be named timestamp, log_group, log_stream, id or message."
  }
}

variable "timeout" {
  description = "Function timeout in seconds."
  type        = number
  default     = 60

  validation {
    condition     = var.timeout >= 10
    error_message = "timeout must be at least 10 seconds; lambda-function checks the upper bound, 900."
  }
}

variable "memory_size" {
  description = "Function memory in MB (the per-file id cache grows with the events of a day)."
  type        = number
  default     = 512

  validation {
    condition     = var.memory_size >= 256
    error_message = "memory_size must be at least 256 MB; lambda-function checks the upper bound, 10240."
  }
}

variable "reserved_concurrent_executions" {
  description = "Reserved concurrency of the function (null: unreserved). Writers of one log group's day file take turns, so a few are enough."
  type        = number
  default     = null
}

variable "maximum_retry_attempts" {
  description = "Retries of a failed asynchronous invocation before the payload is parked in the failure queue."
  type        = number
  default     = 2

  validation {
    condition     = var.maximum_retry_attempts >= 0 && var.maximum_retry_attempts <= 2
    error_message = "maximum_retry_attempts must be 0, 1 or 2."
  }
}

variable "maximum_event_age_in_seconds" {
  description = "Age after which Lambda stops retrying a payload and parks it in the failure queue."
  type        = number
  default     = 600

  validation {
    condition     = var.maximum_event_age_in_seconds >= 60 && var.maximum_event_age_in_seconds <= 21600
    error_message = "maximum_event_age_in_seconds must be between 60 and 21600."
  }
}

variable "seal_grace_seconds" {
  description = "A day is sealed (compressed to .log.gz) once it is over in time_zone and its file was not written for this long. Late events within it still go into the day file."
  type        = number
  default     = 900

  validation {
    condition     = var.seal_grace_seconds >= var.maximum_event_age_in_seconds + var.timeout
    error_message = "seal_grace_seconds must be at least maximum_event_age_in_seconds + timeout: every retry of a write must find its day file still open, or its lines would be written again to the late file."
  }
}

variable "seal_schedule_expression" {
  description = "EventBridge schedule on which the function seals the days of every log group, including those that went quiet. null: seal only when a log group receives events."
  type        = string
  default     = "rate(1 hour)"

  validation {
    condition     = var.seal_schedule_expression == null || can(regex("^(rate|cron)\\(.+\\)$", coalesce(var.seal_schedule_expression, "-")))
    error_message = "seal_schedule_expression must be rate(...) or cron(...), or null."
  }
}

# --- The function (module.function: lambda-function validates these) ---

variable "tracing_mode" {
  description = "X-Ray tracing of the function: PassThrough (no handler uses the Powertools Tracer) or Active (adds the X-Ray write permissions)."
  type        = string
  default     = "PassThrough"
}

variable "log_retention_in_days" {
  description = "Retention of the function's own log group (a CloudWatch Logs value: 1, 3, 5, 7, 14, 30, 60, 90, ... 3653)."
  type        = number
  default     = 365
}

variable "log_level" {
  description = "Powertools log level of the function: DEBUG, INFO, WARNING or ERROR."
  type        = string
  default     = "INFO"
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the function's metrics (EventsArchived, DuplicateEventsSkipped, LateEvents, DaysSealed, InvalidPayloads)."
  type        = string
  default     = "logpipes"
}

variable "create_function_role" {
  description = "Create the function's execution role (named <name>-archiver). false: use function_role_arn."
  type        = bool
  default     = true
}

variable "function_role_arn" {
  description = "With create_function_role = false: the function's execution role. It needs the statements of iam.tf, the VPC network interface actions, and to write its log group; the file system policy lets it mount through the access point."
  type        = string
  default     = null
}

variable "role_path" {
  description = "Path of the IAM role the module creates."
  type        = string
  default     = "/"
}

variable "permissions_boundary" {
  description = "ARN of the managed policy set as the permissions boundary of the IAM role the module creates (null: none)."
  type        = string
  default     = null
}

# --- Alarms ---

variable "create_alarms" {
  description = "Create the alarms: function errors and throttles, parked payloads, dropped events."
  type        = bool
  default     = true
}

variable "alarm_actions" {
  description = "ARNs (e.g. SNS topics) notified when an alarm fires and when it recovers (lambda-function checks they are ARNs)."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags for every resource the module creates."
  type        = map(string)
  default     = {}
}
