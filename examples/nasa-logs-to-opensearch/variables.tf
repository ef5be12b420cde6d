variable "region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "us-east-1"
}

variable "image_uris" {
  description = "Function name => image URI, as build.py writes it to build/images.auto.tfvars.json."
  type        = map(string)

  validation {
    condition     = contains(keys(var.image_uris), "es_bulk_loader")
    error_message = "image_uris must have an es_bulk_loader entry: run `python build.py --push es_bulk_loader`."
  }
}

variable "name" {
  description = "Name of the pipeline (state machine, functions, roles, domain and bucket start with it)."
  type        = string
  default     = "nasa-logs"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,20}$", var.name))
    error_message = "name must be 3-21 lowercase letters, digits or '-', starting with a letter (it also names the OpenSearch domain)."
  }
}

variable "opensearch_kind" {
  description = "What the example creates to load into (unless existing_opensearch is given): serverless (an OpenSearch Serverless SEARCH collection, nothing to size) or domain (an OpenSearch domain sized by the opensearch_* variables)."
  type        = string
  default     = "serverless"

  validation {
    condition     = contains(["serverless", "domain"], var.opensearch_kind)
    error_message = "opensearch_kind must be serverless or domain."
  }
}

variable "collection_standby_replicas" {
  description = "Standby replicas of the created collection in a second availability zone: false halves the minimum OCUs (an example's choice; true for production)."
  type        = bool
  default     = false
}

variable "existing_opensearch" {
  description = "Load into an existing domain or Serverless collection instead of creating one: its endpoint and ARN. Give the module's opensearch_writer_role_arns access there (domain access policy, FGAC role mapping, or collection data access policy)."
  type = object({
    endpoint = string
    arn      = string
  })
  default = null
}

variable "opensearch_instance_type" {
  description = "Instance type of the created domain's data nodes. The full NASA-HTTP data set (3.5 million documents, about 1.5 GB with replicas) fits two r6g.large.search nodes comfortably."
  type        = string
  default     = "r6g.large.search"
}

variable "opensearch_instance_count" {
  description = "Data nodes of the created domain (2 or more spreads them over two availability zones)."
  type        = number
  default     = 2

  validation {
    condition     = var.opensearch_instance_count >= 1 && floor(var.opensearch_instance_count) == var.opensearch_instance_count
    error_message = "opensearch_instance_count must be a whole number of at least 1."
  }
}

variable "opensearch_volume_gb" {
  description = "gp3 volume per data node, in GB."
  type        = number
  default     = 100
}

variable "index_pattern" {
  description = "Index name pattern (one index per UTC day)."
  type        = string
  default     = "nasa-logs-%Y.%m.%d"
}

variable "chunk_bytes" {
  description = "Chunk size: one Load invocation each."
  type        = number
  default     = 8388608
}

variable "bulk_bytes" {
  description = "Maximum _bulk request size."
  type        = number
  default     = 5242880
}

variable "max_concurrency" {
  description = "Chunks loading at the same time."
  type        = number
  default     = 10
}

variable "incoming_prefix" {
  description = "New objects under this prefix of the bucket start an execution by themselves (S3 -> EventBridge -> state machine)."
  type        = string
  default     = "nasa/incoming/"
}

variable "alarm_actions" {
  description = "ARNs (SNS topics) notified by the pipeline's alarms."
  type        = list(string)
  default     = []
}
