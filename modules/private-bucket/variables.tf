variable "bucket_name" {
  description = "Bucket name. null: AWS generates one from bucket_prefix."
  type        = string
  default     = null

  validation {
    condition     = var.bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be 3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit."
  }
}

variable "bucket_prefix" {
  description = "Prefix of the generated name when bucket_name is null (at most 37 characters: AWS appends 26)."
  type        = string
  default     = "logpipes-"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{0,36}$", var.bucket_prefix))
    error_message = "bucket_prefix must be 1-37 lowercase letters, digits, dots and hyphens, starting with a letter or digit."
  }
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for default encryption (SSE-KMS with an S3 bucket key). null: SSE-S3."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)."
  }
}

variable "versioning" {
  description = "Keep every version of every object (recover what was overwritten or deleted)."
  type        = bool
  default     = true
}

variable "lifecycle_rules" {
  description = "Lifecycle rules, each for the objects under prefix (\"\" for all): expire current objects, replaced versions, and abandoned multipart uploads after that many days (null: not that action)."
  type = list(object({
    id                                     = string
    prefix                                 = optional(string, "")
    expiration_days                        = optional(number)
    noncurrent_version_expiration_days     = optional(number)
    abort_incomplete_multipart_upload_days = optional(number)
  }))
  default = []

  validation {
    condition = alltrue([
      for rule in var.lifecycle_rules : alltrue([
        for days in [rule.expiration_days, rule.noncurrent_version_expiration_days, rule.abort_incomplete_multipart_upload_days] :
        days == null ? true : days >= 1
      ])
    ])
    error_message = "lifecycle_rules: every number of days must be at least 1."
  }

  validation {
    condition     = length(distinct([for rule in var.lifecycle_rules : rule.id])) == length(var.lifecycle_rules)
    error_message = "lifecycle_rules: ids must be unique."
  }
}

variable "force_destroy" {
  description = "Allow terraform destroy to delete the bucket with its objects (for test and demo stacks)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for the bucket."
  type        = map(string)
  default     = {}
}
