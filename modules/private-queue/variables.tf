variable "name" {
  description = "Queue name; the dead-letter queue is <name>-dead-letter."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,68}$", var.name))
    error_message = "name must be 1-68 characters of letters, digits, '_' or '-' (room for the -dead-letter suffix in SQS's 80)."
  }
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for both queues. null: SQS managed SSE (still encrypted). Senders that are AWS services (S3, Lambda destinations) need kms:GenerateDataKey and kms:Decrypt on it in its key policy."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), not an alias."
  }
}

variable "message_retention_seconds" {
  description = "Seconds the queue keeps a message (60 to 1209600, 14 days)."
  type        = number
  default     = 345600

  validation {
    condition     = var.message_retention_seconds >= 60 && var.message_retention_seconds <= 1209600
    error_message = "message_retention_seconds must be between 60 and 1209600."
  }
}

variable "visibility_timeout_seconds" {
  description = "Seconds a received message stays hidden from other consumers (0 to 43200). For a Lambda event source: at least six times the function timeout."
  type        = number
  default     = 30

  validation {
    condition     = var.visibility_timeout_seconds >= 0 && var.visibility_timeout_seconds <= 43200
    error_message = "visibility_timeout_seconds must be between 0 and 43200."
  }
}

variable "receive_wait_time_seconds" {
  description = "Long polling: seconds a ReceiveMessage waits for a message (0 to 20)."
  type        = number
  default     = 0

  validation {
    condition     = var.receive_wait_time_seconds >= 0 && var.receive_wait_time_seconds <= 20
    error_message = "receive_wait_time_seconds must be between 0 and 20."
  }
}

variable "policy_documents" {
  description = "IAM policy documents (JSON) merged into the queue's policy next to its TLS-only deny, e.g. to let S3 send notifications (statement ids must be unique)."
  type        = list(string)
  default     = []
}

variable "create_dead_letter_queue" {
  description = "Create a dead-letter queue and a redrive policy that moves a message there after max_receive_count receives."
  type        = bool
  default     = false
}

variable "max_receive_count" {
  description = "Receives of a message before it moves to the dead-letter queue."
  type        = number
  default     = 5

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000
    error_message = "max_receive_count must be 1 to 1000."
  }
}

variable "dead_letter_retention_seconds" {
  description = "Seconds the dead-letter queue keeps a message (the SQS maximum, 14 days, by default)."
  type        = number
  default     = 1209600

  validation {
    condition     = var.dead_letter_retention_seconds >= 60 && var.dead_letter_retention_seconds <= 1209600
    error_message = "dead_letter_retention_seconds must be 60 to 1209600."
  }
}

variable "tags" {
  description = "Tags for the queues."
  type        = map(string)
  default     = {}
}
