variable "name" {
  description = "Name of the state machine; also the prefix of every resource the module creates."
  type        = string
  default     = "es-bulk-loader"

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,40}$", var.name))
    error_message = "name must be 1-40 letters, digits, '_' or '-' (it prefixes Lambda and IAM names)."
  }
}

variable "image_uri" {
  description = "ECR image URI of the es_bulk_loader function (build.py writes it to build/images.auto.tfvars.json). The four Lambdas run this one image with different handlers; lambda-function checks it is repository:tag or repository@sha256:digest."
  type        = string
}

# --- OpenSearch ---

variable "opensearch_endpoint" {
  description = "Endpoint of the OpenSearch domain or OpenSearch Serverless collection, with or without https:// (e.g. search-logs-abc.eu-west-1.es.amazonaws.com)."
  type        = string

  validation {
    condition     = can(regex("^(https://)?[a-zA-Z0-9.-]+(:[0-9]+)?/?$", var.opensearch_endpoint))
    error_message = "opensearch_endpoint must be a host name (optionally with https:// and a port), without a path."
  }
}

variable "opensearch_arn" {
  description = "ARN of the OpenSearch domain (arn:aws:es:...:domain/NAME) or Serverless collection (arn:aws:aoss:...:collection/ID). It decides the signing service (es or aoss) and scopes the Lambdas' permissions."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:(es:[a-z0-9-]+:[0-9]{12}:domain/[a-z][a-z0-9-]{2,27}|aoss:[a-z0-9-]+:[0-9]{12}:collection/[a-z0-9]+)$", var.opensearch_arn))
    error_message = "opensearch_arn must be a domain ARN (arn:aws:es:<region>:<account>:domain/<name>) or a collection ARN (arn:aws:aoss:<region>:<account>:collection/<id>)."
  }
}

# --- Where the logs are, and where the loader writes ---

variable "source_bucket_name" {
  description = "Bucket holding the log files to load. The Lambdas may read it (under source_prefix) and nothing else of it."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.source_bucket_name))
    error_message = "source_bucket_name must be a valid S3 bucket name."
  }
}

variable "source_prefix" {
  description = "Key prefix of the objects the Lambdas may read and load: they get s3:GetObject on source_bucket_name/<source_prefix>* only. \"\" (the default) grants s3:GetObject on EVERY object in the bucket: set a prefix unless the bucket holds nothing but the logs to load."
  type        = string
  default     = ""

  validation {
    condition     = !startswith(var.source_prefix, "/")
    error_message = "source_prefix must not start with '/'."
  }
}

variable "work_bucket_name" {
  description = "Bucket for the loader's working objects (chunk lists, decompressed chunks of gzip files, the Distributed Map's results). null: the source bucket. The module does not create it: give it an AbortIncompleteMultipartUpload lifecycle rule (decompressed chunks are multipart uploads)."
  type        = string
  default     = null

  validation {
    condition     = var.work_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.work_bucket_name))
    error_message = "work_bucket_name must be a valid S3 bucket name, or null."
  }
}

variable "work_prefix" {
  description = "Key prefix of the working objects, ending with '/'. Give it a lifecycle rule that expires objects after a few days."
  type        = string
  default     = "es-bulk-loader/work/"

  validation {
    condition     = can(regex("^[^/].*/$", var.work_prefix))
    error_message = "work_prefix must be non-empty, end with '/' and not start with '/'."
  }
}

variable "dead_letter_bucket_name" {
  description = "Bucket for documents OpenSearch did not index, with the error, one NDJSON object per chunk. null: the work bucket. The module does not create it: give it an AbortIncompleteMultipartUpload lifecycle rule (an over-long line is copied by a multipart upload)."
  type        = string
  default     = null

  validation {
    condition     = var.dead_letter_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.dead_letter_bucket_name))
    error_message = "dead_letter_bucket_name must be a valid S3 bucket name, or null."
  }
}

variable "dead_letter_prefix" {
  description = "Key prefix of the dead letters, ending with '/'."
  type        = string
  default     = "es-bulk-loader/dead-letter/"

  validation {
    condition     = can(regex("^[^/].*/$", var.dead_letter_prefix))
    error_message = "dead_letter_prefix must be non-empty, end with '/' and not start with '/'."
  }
}

variable "s3_kms_key_arns" {
  description = "KMS keys of SSE-KMS encrypted source, work or dead-letter buckets: the Lambdas and the state machine get kms:Decrypt and kms:GenerateDataKey on them (through S3 only)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.s3_kms_key_arns : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", arn))])
    error_message = "s3_kms_key_arns must be KMS key ARNs."
  }
}

# --- Indices ---

variable "index_pattern" {
  description = "Default index name pattern; %Y, %m and %d are the UTC date of each line (nasa-logs-%Y.%m.%d -> nasa-logs-1995.07.01). An execution can override it with \"index_pattern\" in its input."
  type        = string
  default     = "logs-%Y.%m.%d"

  validation {
    condition     = length(var.index_pattern) <= 200 && can(regex("^[a-z0-9][a-z0-9_.+-]*(%[Ymd][a-z0-9_.+-]*)*$", var.index_pattern))
    error_message = "index_pattern must be lowercase letters, digits, '_', '.', '+', '-', with optional %Y, %m, %d, starting with a letter or digit."
  }
}

variable "number_of_shards" {
  description = "Primary shards per index (index template setting; ignored by Serverless collections)."
  type        = number
  default     = 1

  validation {
    condition     = var.number_of_shards >= 1 && var.number_of_shards <= 1024 && floor(var.number_of_shards) == var.number_of_shards
    error_message = "number_of_shards must be a whole number from 1 to 1024."
  }
}

variable "number_of_replicas" {
  description = "Replicas per shard (index template setting; ignored by Serverless collections)."
  type        = number
  default     = 1

  validation {
    condition     = var.number_of_replicas >= 0 && var.number_of_replicas <= 15 && floor(var.number_of_replicas) == var.number_of_replicas
    error_message = "number_of_replicas must be a whole number from 0 to 15."
  }
}

variable "refresh_interval" {
  description = "index.refresh_interval of the indices: longer means cheaper bulk loading, later visibility (\"-1\" disables refreshes)."
  type        = string
  default     = "30s"

  validation {
    condition     = can(regex("^(-1|[0-9]+(ms|s|m|h))$", var.refresh_interval))
    error_message = "refresh_interval must be -1 or a duration such as 500ms, 30s, 1m."
  }
}

variable "index_message" {
  description = "Index the raw line (message) for full-text search. false keeps it in _source only, which is much cheaper."
  type        = bool
  default     = false
}

variable "ingest_pipeline" {
  description = "Optional ingest pipeline body (JSON), made the indices' default_pipeline. Parsing happens in the loader; use this for enrichment only. Not supported by Serverless collections."
  type        = string
  default     = null

  validation {
    condition     = var.ingest_pipeline == null || can(jsondecode(var.ingest_pipeline).processors)
    error_message = "ingest_pipeline must be a JSON object with a processors list, or null."
  }
}

# --- Chunks, bulk requests, fan-out ---

variable "chunk_bytes" {
  description = "Target size of a chunk (one Load invocation): chunks start and end on line boundaries, so they are this size plus the rest of the last line."
  type        = number
  default     = 8388608

  validation {
    condition     = var.chunk_bytes >= 1024 && var.chunk_bytes <= 1073741824 && floor(var.chunk_bytes) == var.chunk_bytes
    error_message = "chunk_bytes must be a whole number of bytes from 1 KiB to 1 GiB."
  }
}

variable "bulk_bytes" {
  description = "Maximum size of one _bulk request body. Keep it under the domain's http.max_content_length (10 MiB on the smallest instance types)."
  type        = number
  default     = 5242880

  validation {
    condition     = var.bulk_bytes >= 1024 && var.bulk_bytes <= 104857600 && floor(var.bulk_bytes) == var.bulk_bytes
    error_message = "bulk_bytes must be a whole number of bytes from 1 KiB to 100 MiB."
  }
}

variable "bulk_max_attempts" {
  description = "Attempts per _bulk request. A whole request answered 429 or any 5xx, lost to a connection error or a timeout, and items failing with 429 or any 5xx are retried with exponential backoff and full jitter; a 413 splits the request instead (a single document still too large is dead-lettered). When a chunk's attempts run out, its documents still failing are dead-lettered (marked transient, to replay as they are)."
  type        = number
  default     = 6

  validation {
    condition     = var.bulk_max_attempts >= 1 && var.bulk_max_attempts <= 20 && floor(var.bulk_max_attempts) == var.bulk_max_attempts
    error_message = "bulk_max_attempts must be a whole number from 1 to 20."
  }
}

variable "max_concurrency" {
  description = "MaxConcurrency of the Distributed Map: how many chunks load at the same time (each one sends one bulk request at a time)."
  type        = number
  default     = 10

  validation {
    condition     = var.max_concurrency >= 1 && var.max_concurrency <= 10000 && floor(var.max_concurrency) == var.max_concurrency
    error_message = "max_concurrency must be a whole number from 1 to 10000."
  }
}

variable "tolerated_failure_percentage" {
  description = "Percentage of chunks that may fail (after their retries) before the Distributed Map, and the execution, fails. Failed chunks are listed in the report."
  type        = number
  default     = 0

  validation {
    condition     = var.tolerated_failure_percentage >= 0 && var.tolerated_failure_percentage <= 100
    error_message = "tolerated_failure_percentage must be between 0 and 100."
  }
}

variable "execution_timeout_seconds" {
  description = "TimeoutSeconds of the whole execution."
  type        = number
  default     = 21600

  validation {
    condition     = var.execution_timeout_seconds >= 60 && var.execution_timeout_seconds <= 31536000
    error_message = "execution_timeout_seconds must be between 60 seconds and one year."
  }
}

# --- Lambdas ---

# (module.function, lambda-function, validates architecture, the memory sizes and timeouts, the
# reserved concurrency, the retention, the log level, tracing_mode, role_path,
# permissions_boundary and alarm_actions.)

variable "architecture" {
  description = "Instruction set of the image (x86_64 or arm64): build it with the same --arch."
  type        = string
  default     = "x86_64"
}

variable "tracing_mode" {
  description = "X-Ray tracing of the functions: PassThrough (no handler uses the Powertools Tracer) or Active. The state machine traces either way."
  type        = string
  default     = "PassThrough"
}

variable "role_path" {
  description = "Path of the IAM roles the module creates."
  type        = string
  default     = "/"
}

variable "permissions_boundary" {
  description = "ARN of the managed policy set as the permissions boundary of every IAM role the module creates (null: none)."
  type        = string
  default     = null
}

variable "load_memory_size" {
  description = "Memory (MB) of the Load function; CPU grows with it (a full vCPU at 1769 MB). Parsing is CPU-bound."
  type        = number
  default     = 1769

  validation {
    condition     = var.load_memory_size >= 256 && var.load_memory_size <= 10240
    error_message = "load_memory_size must be between 256 and 10240 MB."
  }
}

variable "load_timeout" {
  description = "Timeout (seconds) of the Load function: one chunk, including bulk retries."
  type        = number
  default     = 600

  validation {
    condition     = var.load_timeout >= 30 && var.load_timeout <= 900
    error_message = "load_timeout must be between 30 and 900 seconds."
  }
}

variable "plan_memory_size" {
  description = "Memory (MB) of the Plan function, which decompresses gzip objects (it holds about two chunks at a time)."
  type        = number
  default     = 1024

  validation {
    condition     = var.plan_memory_size >= 256 && var.plan_memory_size <= 10240
    error_message = "plan_memory_size must be between 256 and 10240 MB."
  }
}

variable "plan_timeout" {
  description = "Timeout (seconds) of the Plan function. Decompressing gzip objects and writing their chunks is its long part."
  type        = number
  default     = 900

  validation {
    condition     = var.plan_timeout >= 30 && var.plan_timeout <= 900
    error_message = "plan_timeout must be between 30 and 900 seconds."
  }
}

variable "load_reserved_concurrent_executions" {
  description = "Reserved concurrency of the Load function: a hard cap on parallel bulk loaders whatever runs the function (null: unreserved)."
  type        = number
  default     = null
}

variable "vpc_config" {
  description = "Subnets and security groups for the Lambdas that talk to OpenSearch, for a domain inside a VPC (null: no VPC). The subnets need a route to S3 (gateway endpoint) and to OpenSearch."
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

variable "log_level" {
  description = "Powertools log level of the functions: DEBUG, INFO, WARNING or ERROR."
  type        = string
  default     = "INFO"
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the Report step's metrics (LinesRead, DocumentsIndexed, DocumentsFailed, DocumentsDeadLettered, ParseErrors, ChunksFailed, LoadSeconds)."
  type        = string
  default     = "logpipes"
}

# --- Encryption, logs, alarms ---

variable "kms_key_arn" {
  description = "Customer managed KMS key for the log groups, the functions' environment and the state machine's data. null: AWS-owned keys (encryption stays on)."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)."
  }
}

variable "log_retention_in_days" {
  description = "Retention of the functions' and the state machine's log groups."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_in_days)
    error_message = "log_retention_in_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)."
  }
}

variable "state_machine_log_level" {
  description = "Execution history sent to CloudWatch Logs: ALL, ERROR, FATAL or OFF."
  type        = string
  default     = "ERROR"

  validation {
    condition     = contains(["ALL", "ERROR", "FATAL", "OFF"], var.state_machine_log_level)
    error_message = "state_machine_log_level must be ALL, ERROR, FATAL or OFF."
  }
}

variable "create_alarms" {
  description = "Create CloudWatch alarms: failed and timed-out executions, function errors and throttles, dead-lettered documents, failed chunks."
  type        = bool
  default     = true
}

variable "alarm_actions" {
  description = "ARNs (e.g. SNS topics) notified when an alarm fires and when it recovers."
  type        = list(string)
  default     = []
}

# --- Starting executions ---

variable "s3_trigger" {
  description = "Start an execution for every object created under prefix in the source bucket (S3 -> EventBridge -> state machine). manage_bucket_notification turns on the bucket's EventBridge notifications (this resource owns the bucket's whole notification configuration: set it false if something else manages it, and enable EventBridge there)."
  type = object({
    enabled                    = optional(bool, false)
    prefix                     = optional(string, "")
    manage_bucket_notification = optional(bool, true)
  })
  default = {}

  validation {
    condition     = !var.s3_trigger.enabled || startswith(var.s3_trigger.prefix, var.source_prefix)
    error_message = "s3_trigger.prefix must be inside source_prefix: the loader may only read there."
  }
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
