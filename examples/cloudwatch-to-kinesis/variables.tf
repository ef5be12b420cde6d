variable "region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "us-east-1"
}

variable "image_uris" {
  description = "Function name => image URI, as build.py writes it to build/images.auto.tfvars.json. This example deploys no function: it takes the map like every example, and ignores it."
  type        = map(string)
  default     = {}
}

variable "name" {
  description = "Name of the pipeline: the stream, the log group's prefix, the filter."
  type        = string
  default     = "logs-to-kinesis"

  validation {
    condition     = can(regex("^[a-zA-Z0-9_.-]{1,40}$", var.name))
    error_message = "name must be 1-40 characters of letters, digits, '_', '.' or '-'."
  }
}

variable "shard_count" {
  description = "Shards of the provisioned stream (each takes 1 MB/s of subscription payloads)."
  type        = number
  default     = 1

  validation {
    condition     = var.shard_count >= 1 && var.shard_count <= 64
    error_message = "shard_count must be between 1 and 64."
  }
}
