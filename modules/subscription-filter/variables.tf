variable "name" {
  description = "Name of the subscription filters (a second filter on one log group gets \"-2\") and of the IAM role and CloudWatch Logs destination the module creates."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_.-]{1,48}$", var.name))
    error_message = "name must be 1-48 characters of letters, digits, '_', '.' or '-'."
  }
}

variable "log_groups" {
  description = <<-EOT
    Log groups to subscribe, keyed by log group name (the groups must exist). filter_pattern is a
    CloudWatch Logs filter pattern ("" matches every event). filter_patterns, a list of one or two
    patterns, replaces it to put two filters on one log group (CloudWatch Logs allows at most two
    per log group, across all destinations). distribution ("ByLogStream" or "Random") is for
    kinesis destinations only.
  EOT
  type = map(object({
    filter_pattern  = optional(string, "")
    filter_patterns = optional(list(string))
    distribution    = optional(string)
  }))
  default = {}

  validation {
    condition     = alltrue([for name in keys(var.log_groups) : can(regex("^[a-zA-Z0-9_./#-]{1,512}$", name))])
    error_message = "log_groups keys must be log group names: 1-512 of letters, digits, '_', '-', '/', '.', '#'."
  }

  validation {
    condition = alltrue([
      for group in values(var.log_groups) : group.filter_patterns == null || try(length(group.filter_patterns) >= 1 && length(group.filter_patterns) <= 2, false)
    ])
    error_message = "CloudWatch Logs allows at most two subscription filters per log group: filter_patterns must hold one or two patterns."
  }

  validation {
    condition = alltrue(flatten([
      for group in values(var.log_groups) : [
        for pattern in coalesce(group.filter_patterns, [group.filter_pattern]) : pattern != null && length(pattern) <= 1024
      ]
    ]))
    error_message = "Filter patterns must be strings of at most 1024 characters (\"\" matches every event)."
  }

  validation {
    condition     = alltrue([for group in values(var.log_groups) : group.distribution == null || (var.destination_type == "kinesis" && contains(["ByLogStream", "Random"], coalesce(group.distribution, "-")))])
    error_message = "distribution is \"ByLogStream\" or \"Random\", and only for destination_type = \"kinesis\"."
  }
}

variable "destination_type" {
  description = "What destination_arn is: \"lambda\" (a function; the module adds its invoke permission for each log group), \"kinesis\" (a data stream) or \"firehose\" (a delivery stream), for which the module creates the role CloudWatch Logs assumes, or \"destination\" (another account's CloudWatch Logs destination)."
  type        = string

  validation {
    condition     = contains(["lambda", "kinesis", "firehose", "destination"], var.destination_type)
    error_message = "destination_type must be \"lambda\", \"kinesis\", \"firehose\" or \"destination\"."
  }
}

variable "destination_arn" {
  description = "ARN of the Lambda function, Kinesis data stream, Firehose delivery stream or CloudWatch Logs destination, in the same region as the log groups."
  type        = string

  validation {
    condition = can(regex(lookup({
      lambda      = "^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[a-zA-Z0-9_-]+(:[a-zA-Z0-9$_-]+)?$"
      kinesis     = "^arn:aws[a-z-]*:kinesis:[a-z0-9-]+:[0-9]{12}:stream/[a-zA-Z0-9_.-]+$"
      firehose    = "^arn:aws[a-z-]*:firehose:[a-z0-9-]+:[0-9]{12}:deliverystream/[a-zA-Z0-9_.-]+$"
      destination = "^arn:aws[a-z-]*:logs:[a-z0-9-]+:[0-9]{12}:destination:[^:*]+$"
    }, var.destination_type, "^$"), var.destination_arn))
    error_message = "destination_arn must be the ARN of a resource of destination_type (a function, stream/, deliverystream/ or destination:)."
  }
}

variable "create_role" {
  description = "For kinesis and firehose: create the role CloudWatch Logs assumes, allowed to put into destination_arn only. Set false to use role_arn instead (a flag, so that role_arn may come from a resource created in the same apply)."
  type        = bool
  default     = true

  validation {
    condition     = var.create_role ? var.role_arn == null : (var.role_arn != null || !contains(["kinesis", "firehose"], var.destination_type))
    error_message = "role_arn goes with create_role = false, and a kinesis or firehose destination with create_role = false needs role_arn."
  }
}

variable "role_arn" {
  description = "With create_role = false, for kinesis and firehose: an existing role CloudWatch Logs may assume to put records into the destination."
  type        = string
  default     = null

  validation {
    condition     = var.role_arn == null || (contains(["kinesis", "firehose"], var.destination_type) && can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/", coalesce(var.role_arn, "-"))))
    error_message = "role_arn is an IAM role ARN, and only for kinesis and firehose destinations."
  }
}

variable "destination_kms_key_arn" {
  description = "For a kinesis stream encrypted with a customer managed KMS key: the key, on which the created role gets kms:GenerateDataKey."
  type        = string
  default     = null

  validation {
    condition     = var.destination_kms_key_arn == null || (var.destination_type == "kinesis" && can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", coalesce(var.destination_kms_key_arn, "-"))))
    error_message = "destination_kms_key_arn is a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>, not an alias), and only for kinesis destinations."
  }
}

variable "cross_account_sender_ids" {
  description = "Receiving side of cross-account delivery: AWS account IDs allowed to subscribe their log groups to destination_arn. Non-empty creates a CloudWatch Logs destination (output cloudwatch_logs_destination_arn) with a policy for these accounts. Kinesis and firehose only."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.cross_account_sender_ids : can(regex("^[0-9]{12}$", id))])
    error_message = "cross_account_sender_ids must be 12-digit AWS account IDs."
  }

  validation {
    condition     = length(var.cross_account_sender_ids) == 0 || (contains(["kinesis", "firehose"], var.destination_type) && var.create_role)
    error_message = "A cross-account destination needs destination_type kinesis or firehose, and the role this module creates (create_role = true)."
  }
}

variable "role_path" {
  description = "Path of the IAM role the module creates."
  type        = string
  default     = "/"

  validation {
    condition     = can(regex("^/([\\x21-\\x7e]+/)?$", var.role_path))
    error_message = "role_path must start and end with '/'."
  }
}

variable "permissions_boundary" {
  description = "ARN of the managed policy set as the permissions boundary of the IAM role the module creates (null: none)."
  type        = string
  default     = null

  validation {
    condition     = var.permissions_boundary == null || can(regex("^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/.+$", coalesce(var.permissions_boundary, "-")))
    error_message = "permissions_boundary must be an IAM policy ARN."
  }
}

variable "tags" {
  description = "Tags for the resources the module creates."
  type        = map(string)
  default     = {}
}
