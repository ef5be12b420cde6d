variable "name" {
  description = "Name of the Kinesis stream; also the prefix of every resource the module creates."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_.-]{1,48}$", var.name))
    error_message = "name must be 1-48 characters of letters, digits, '_', '.' or '-'."
  }
}

variable "image_uri" {
  description = "ECR image URI of the kinesis_kpl consumer function (build.py writes it to build/images.auto.tfvars.json); lambda-function checks it is repository:tag or repository@sha256:digest."
  type        = string
}

# --- The stream ---

variable "stream_mode" {
  description = "ON_DEMAND (Kinesis scales the shards) or PROVISIONED (shard_count shards)."
  type        = string
  default     = "ON_DEMAND"

  validation {
    condition     = contains(["ON_DEMAND", "PROVISIONED"], var.stream_mode)
    error_message = "stream_mode must be ON_DEMAND or PROVISIONED."
  }
}

variable "shard_count" {
  description = "Number of shards with stream_mode = PROVISIONED; must be null with ON_DEMAND."
  type        = number
  default     = null

  validation {
    condition     = var.stream_mode == "ON_DEMAND" ? var.shard_count == null : try(var.shard_count >= 1 && var.shard_count <= 1024 && floor(var.shard_count) == var.shard_count, false)
    error_message = "shard_count must be a whole number from 1 to 1024 with PROVISIONED, and null with ON_DEMAND."
  }
}

variable "retention_period" {
  description = "Hours the stream keeps records (24 to 8760). Keep it above maximum_record_age_in_seconds so that a retried batch is still there."
  type        = number
  default     = 24

  validation {
    condition     = var.retention_period >= 24 && var.retention_period <= 8760
    error_message = "retention_period must be between 24 and 8760 hours."
  }
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for the stream, the failure queue, the created bucket, the log group and the function's environment. null: the AWS managed key alias/aws/kinesis for the stream (encryption stays on), SQS managed SSE for the queue, SSE-S3 for the bucket."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)."
  }
}

# --- The sink ---

variable "create_bucket" {
  description = "Create the sink bucket (encrypted, private, versioned, TLS only). Set false to write into an existing bucket named by bucket_name."
  type        = bool
  default     = true
}

variable "bucket_name" {
  description = "Sink bucket name. With create_bucket = true, null lets AWS generate a name from the stream name."
  type        = string
  default     = null

  validation {
    condition     = var.create_bucket || var.bucket_name != null
    error_message = "bucket_name is required when create_bucket = false."
  }
}

variable "bucket_kms_key_arn" {
  description = "With create_bucket = false: the KMS key of the existing bucket's default encryption, if it is a customer managed key (the function gets kms:GenerateDataKey on it)."
  type        = string
  default     = null

  validation {
    condition     = var.bucket_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.bucket_kms_key_arn))
    error_message = "bucket_kms_key_arn must be a KMS key ARN."
  }
}

variable "force_destroy" {
  description = "Allow terraform destroy to delete the created bucket with its objects (for test and demo stacks)."
  type        = bool
  default     = false
}

variable "noncurrent_version_expiration_days" {
  description = "Days a replaced object version is kept in the created bucket (a retried batch overwrites its objects; the bucket is versioned)."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days must be at least 1."
  }
}

variable "prefix" {
  description = "S3 prefix of the data objects: <prefix>dt=YYYY-MM-DD/hour=HH/<shard>_<first>.json.gz (UTC event time; first: the sequence and sub-sequence numbers of the object's first user record). Ends with '/'."
  type        = string
  default     = "apache/"

  validation {
    condition     = can(regex("^[a-zA-Z0-9!_.*'()/-]+/$", var.prefix)) && !startswith(var.prefix, "/")
    error_message = "prefix must be S3-safe characters, end with '/', and not start with '/'."
  }
}

variable "dead_letter_prefix" {
  description = "S3 prefix where corrupt KPL aggregates are parked with their shard, sequence number and reason (object metadata). Ends with '/'; must not overlap prefix."
  type        = string
  default     = "dead-letter/"

  validation {
    condition     = can(regex("^[a-zA-Z0-9!_.*'()/-]+/$", var.dead_letter_prefix)) && !startswith(var.dead_letter_prefix, "/")
    error_message = "dead_letter_prefix must be S3-safe characters, end with '/', and not start with '/'."
  }

  validation {
    condition     = !startswith(var.dead_letter_prefix, var.prefix) && !startswith(var.prefix, var.dead_letter_prefix)
    error_message = "prefix and dead_letter_prefix must not contain each other: readers of prefix would read dead letters as data."
  }
}

variable "gzip_level" {
  description = "gzip level of the data objects, ISA-L's: 1 (fastest) to 3 (smallest). 2 compresses JSON lines about 12x as fast as zlib's default level 6, into objects about 25% larger; 3 is about 4x slower than 2 and 6% smaller."
  type        = number
  default     = 2

  validation {
    condition     = contains([1, 2, 3], var.gzip_level)
    error_message = "gzip_level must be 1, 2 or 3 (ISA-L's levels)."
  }
}

# --- The event source mapping ---

variable "batch_size" {
  description = "Most Kinesis records per invocation (1 to 10000). An aggregated record holds many user records; Lambda also caps a batch at 6 MB."
  type        = number
  default     = 100

  validation {
    condition     = var.batch_size >= 1 && var.batch_size <= 10000
    error_message = "batch_size must be between 1 and 10000."
  }
}

variable "maximum_batching_window_in_seconds" {
  description = "Seconds Lambda gathers records before invoking (0 to 300): fewer, larger objects in S3 for a little latency."
  type        = number
  default     = 10

  validation {
    condition     = var.maximum_batching_window_in_seconds >= 0 && var.maximum_batching_window_in_seconds <= 300
    error_message = "maximum_batching_window_in_seconds must be between 0 and 300."
  }
}

variable "parallelization_factor" {
  description = "Concurrent batches per shard (1 to 10). Records of one partition key stay in order."
  type        = number
  default     = 1

  validation {
    condition     = var.parallelization_factor >= 1 && var.parallelization_factor <= 10
    error_message = "parallelization_factor must be between 1 and 10."
  }
}

variable "starting_position" {
  description = "Where a new mapping starts reading: TRIM_HORIZON (oldest record kept) or LATEST."
  type        = string
  default     = "TRIM_HORIZON"

  validation {
    condition     = contains(["TRIM_HORIZON", "LATEST"], var.starting_position)
    error_message = "starting_position must be TRIM_HORIZON or LATEST."
  }
}

variable "bisect_batch_on_function_error" {
  description = "Split a failing batch in two and retry the halves, to isolate a poison record."
  type        = bool
  default     = true
}

variable "maximum_retry_attempts" {
  description = "Retries of a failing batch before it goes to the on-failure destination (failed_batches_destination; 0 to 10000). -1 retries until the record expires, which lets one poison record block its shard for the whole retention period."
  type        = number
  default     = 10

  validation {
    condition     = var.maximum_retry_attempts >= -1 && var.maximum_retry_attempts <= 10000
    error_message = "maximum_retry_attempts must be between -1 and 10000."
  }
}

variable "maximum_record_age_in_seconds" {
  description = "Records older than this are sent to the on-failure destination instead of being retried (60 to 604800, or -1 for no limit)."
  type        = number
  default     = 21600

  validation {
    condition     = var.maximum_record_age_in_seconds == -1 || (var.maximum_record_age_in_seconds >= 60 && var.maximum_record_age_in_seconds <= 604800)
    error_message = "maximum_record_age_in_seconds must be -1 or between 60 and 604800."
  }
}

variable "failed_batches_destination" {
  description = "Where Lambda sends a batch it gives up on (retries or record age exhausted). \"s3\": the whole invocation record, every record's data included, as a JSON object in the sink bucket under aws/lambda/<mapping UUID>/ (the prefix Lambda writes to; encrypted by the bucket's default encryption). \"sqs\": the failure queue, which gets the batch's metadata only (shard and sequence numbers): the records are lost once the stream's retention passes."
  type        = string
  default     = "s3"

  validation {
    condition     = contains(["s3", "sqs"], var.failed_batches_destination)
    error_message = "failed_batches_destination must be \"s3\" or \"sqs\"."
  }

  validation {
    condition     = var.failed_batches_destination != "s3" || alltrue([for p in [var.prefix, var.dead_letter_prefix] : !startswith(p, "aws/lambda/") && !startswith("aws/lambda/", p)])
    error_message = "With failed_batches_destination = \"s3\", prefix and dead_letter_prefix must not contain, or lie in, aws/lambda/, where Lambda writes the failed batches."
  }
}

variable "failure_queue_retention_seconds" {
  description = "Seconds the failure queue keeps the metadata of batches that were given up on (60 to 1209600)."
  type        = number
  default     = 1209600
}

# --- The function ---

# --- The function (module.function: lambda-function validates these) ---

variable "memory_size" {
  description = "Memory of the consumer function in MB (CPU grows with it; the function is CPU-bound)."
  type        = number
  default     = 1024
}

variable "timeout" {
  description = "Timeout of the consumer function in seconds."
  type        = number
  default     = 120
}

variable "reserved_concurrent_executions" {
  description = "Reserved concurrency of the consumer function (null: unreserved). Kinesis needs at most shards x parallelization_factor."
  type        = number
  default     = null
}

variable "architecture" {
  description = "Instruction set of the image: x86_64 or arm64 (build.py --arch)."
  type        = string
  default     = "x86_64"
}

variable "tracing_mode" {
  description = "X-Ray tracing of the consumer: PassThrough (no handler uses the Powertools Tracer) or Active."
  type        = string
  default     = "PassThrough"
}

variable "create_function_role" {
  description = "Create the consumer's execution role. false: use function_role_arn."
  type        = bool
  default     = true
}

variable "function_role_arn" {
  description = "With create_function_role = false: the consumer's execution role (it needs the statements of the README's IAM section, and to write its log group)."
  type        = string
  default     = null
}

variable "role_path" {
  description = "Path of the IAM role and the producer policy the module creates."
  type        = string
  default     = "/"
}

variable "permissions_boundary" {
  description = "ARN of the managed policy set as the permissions boundary of the IAM role the module creates (null: none)."
  type        = string
  default     = null
}

variable "log_level" {
  description = "Powertools log level of the consumer: DEBUG, INFO, WARNING or ERROR."
  type        = string
  default     = "INFO"
}

variable "log_retention_in_days" {
  description = "Retention of the consumer's log group (a CloudWatch Logs value: 1, 3, 5, 7, 14, 30, 60, 90, ... 3653)."
  type        = number
  default     = 30
}

# --- The producer ---

variable "create_producer_policy" {
  description = "Create the producer's managed IAM policy (producer_policy_arn) to attach to the producer's instance role. Its JSON is output either way."
  type        = bool
  default     = true
}

# --- Alarms ---

variable "create_alarms" {
  description = "Create CloudWatch alarms: iterator age, the consumer's errors and throttles, failed records, batches given up on (sent to the on-failure destination, S3 or SQS), failed deliveries to the on-failure destination, corrupt aggregates, records whose data is not base64."
  type        = bool
  default     = true
}

variable "alarm_actions" {
  description = "ARNs (e.g. SNS topics) notified when an alarm fires and when it recovers (lambda-function checks they are ARNs)."
  type        = list(string)
  default     = []
}

variable "iterator_age_threshold_seconds" {
  description = "Alarm when the newest record a batch read was written more than this many seconds before (the consumer is falling behind or stuck)."
  type        = number
  default     = 600

  validation {
    condition     = var.iterator_age_threshold_seconds >= 60
    error_message = "iterator_age_threshold_seconds must be at least 60."
  }
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
