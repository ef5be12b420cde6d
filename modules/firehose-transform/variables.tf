variable "name" {
  description = "Name of the delivery stream; also the prefix of every resource the module creates."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_.-]{1,48}$", var.name))
    error_message = "name must be 1-48 characters of letters, digits, '_', '.' or '-'."
  }
}

variable "processor" {
  description = "\"lambda\": the logpipes transform Lambda (image_uri) unpacks CloudWatch Logs records. \"native\": Firehose's built-in decompression and CloudWatch Logs message extraction, no Lambda (raw output only)."
  type        = string
  default     = "lambda"

  validation {
    condition     = contains(["lambda", "native"], var.processor)
    error_message = "processor must be \"lambda\" or \"native\"."
  }
}

variable "image_uri" {
  description = "ECR image URI of the transform function (build.py writes it to build/images.auto.tfvars.json). Required when processor = \"lambda\"."
  type        = string
  default     = null

  validation {
    condition     = var.processor != "lambda" || (var.image_uri != null && can(regex("^[^\\s]+[:@][^\\s]+$", coalesce(var.image_uri, "-"))))
    error_message = "image_uri (repository:tag or repository@sha256:digest) is required when processor = \"lambda\"."
  }
}

variable "output_format" {
  description = "\"raw\": each event's message plus a newline (what the AWS blueprint writes). \"json\": one JSON object per event with owner, logGroup, logStream, id, ISO-8601 UTC timestamp and message. \"columns\": one JSON object per event with exactly the configured columns. \"csv\": the same columns as RFC 4180 CSV lines, no header. \"custom\": your transform_function writes the lines (see the README)."
  type        = string
  default     = "raw"

  validation {
    condition     = contains(["raw", "json", "columns", "csv", "custom"], var.output_format)
    error_message = "output_format must be \"raw\", \"json\", \"columns\", \"csv\" or \"custom\"."
  }

  validation {
    condition     = var.processor == "lambda" || var.output_format == "raw"
    error_message = "The native processor writes raw messages only: use processor = \"lambda\" for output_format = \"json\", \"columns\", \"csv\" or \"custom\"."
  }
}

variable "columns" {
  description = "With output_format = \"columns\" or \"csv\" (required) or \"custom\" (optional): the ordered columns of every output line and of the Glue table. name: lower-case Glue column name; type: string, int, bigint, double, boolean or timestamp; source: logGroup, logStream, owner, id, timestamp, message, a JSON path into the message ($.a.b, $.items[0], $[\"a key\"]), apache.<field> or regex.<group> (see the README)."
  type = list(object({
    name   = string
    type   = string
    source = string
  }))
  default = []

  validation {
    condition     = alltrue([for c in var.columns : can(regex("^[a-z_][a-z0-9_]{0,127}$", c.name)) && c.name != "_raw"])
    error_message = "columns: every name must be 1-128 lower-case letters, digits or '_', not starting with a digit, and not \"_raw\" (the module's column for unparsed messages)."
  }

  validation {
    condition     = length(distinct([for c in var.columns : c.name])) == length(var.columns)
    error_message = "columns: names must be unique."
  }

  validation {
    condition     = alltrue([for c in var.columns : contains(["string", "int", "bigint", "double", "boolean", "timestamp"], c.type)])
    error_message = "columns: type must be string, int, bigint, double, boolean or timestamp."
  }

  # The source grammar, one pattern per kind (the handler checks it again at cold start).
  validation {
    condition = alltrue([for c in var.columns : anytrue([
      can(regex("^(logGroup|logStream|owner|id|timestamp|message)$", c.source)),
      can(regex("^\\$(\\.[A-Za-z_][A-Za-z0-9_-]*|\\[\"([^\"\\\\]|\\\\.)*\"\\]|\\[[0-9]+\\])+$", c.source)),
      can(regex("^apache\\.(host|ident|user|time|method|path|protocol|request|status|size|referer|agent)$", c.source)),
      can(regex("^regex\\.[A-Za-z_][A-Za-z0-9_]*$", c.source)),
    ])])
    error_message = "columns: source must be logGroup, logStream, owner, id, timestamp, message, a JSON path ($.a.b, $.items[0], $[\"a key\"]), apache.<host|ident|user|time|method|path|protocol|request|status|size|referer|agent> or regex.<group>."
  }

  validation {
    condition     = length(var.columns) > 0 || !contains(["columns", "csv"], var.output_format)
    error_message = "output_format = \"columns\" or \"csv\" needs at least one entry in columns."
  }

  validation {
    condition     = length(var.columns) == 0 || contains(["columns", "csv", "custom"], var.output_format)
    error_message = "columns apply to output_format = \"columns\", \"csv\" or \"custom\" only."
  }

  # Lambda allows 4 KB of environment variables in all; COLUMNS is one of them.
  validation {
    condition     = length(jsonencode(var.columns)) <= 3072
    error_message = "columns: their JSON (the function's COLUMNS variable) must stay within 3 KB, under Lambda's 4 KB limit for all environment variables: shorten names or sources."
  }
}

variable "message_regex" {
  description = "A Python regular expression with named groups ((?P<name>...)), matched against the whole message (trailing newline stripped); columns take its groups with source = \"regex.<name>\". Required when a column uses a regex source."
  type        = string
  default     = null

  validation {
    condition     = alltrue([for c in var.columns : var.message_regex != null && strcontains(coalesce(var.message_regex, "-"), "(?P<${trimprefix(c.source, "regex.")}>") if startswith(c.source, "regex.")])
    error_message = "message_regex must define a named group (?P<name>...) for every column source regex.<name>."
  }

  validation {
    condition     = var.message_regex == null || contains(["columns", "csv"], var.output_format)
    error_message = "message_regex applies to output_format = \"columns\" or \"csv\" only."
  }

  validation {
    condition     = var.message_regex == null || length(coalesce(var.message_regex, "-")) <= 512
    error_message = "message_regex must be at most 512 characters (it travels in the function's environment, 4 KB in all)."
  }
}

variable "on_unparsed" {
  description = "With output_format = \"columns\" or \"csv\": what becomes of an event whose message does not parse for a JSON path, apache.* or regex.* source. \"keep_raw\": a row with those columns NULL and the message in a last column _raw (NULL for parsed events). \"drop\": no row, counted in the EventsUnparsedDropped metric."
  type        = string
  default     = "keep_raw"

  validation {
    condition     = contains(["keep_raw", "drop"], var.on_unparsed)
    error_message = "on_unparsed must be \"keep_raw\" or \"drop\"."
  }
}

variable "transform_function" {
  description = "With output_format = \"custom\" (required): your transform as package.module:function, shipped in the image with build.py --extra-package (see the README)."
  type        = string
  default     = null

  validation {
    condition     = var.transform_function == null || can(regex("^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*$", coalesce(var.transform_function, "-")))
    error_message = "transform_function must look like package.module:function."
  }

  validation {
    condition     = (var.output_format == "custom") == (var.transform_function != null)
    error_message = "output_format = \"custom\" needs transform_function (package.module:function), and transform_function needs output_format = \"custom\"."
  }
}

variable "create_bucket" {
  description = "Create the destination bucket (encrypted, private, versioned). Set false to deliver into an existing bucket named by bucket_name."
  type        = bool
  default     = true
}

variable "bucket_name" {
  description = "Destination bucket name. With create_bucket = true, null lets AWS generate a name from the stream name."
  type        = string
  default     = null

  validation {
    condition     = var.create_bucket || var.bucket_name != null
    error_message = "bucket_name is required when create_bucket = false."
  }
}

variable "force_destroy" {
  description = "Allow terraform destroy to delete the created bucket with its objects (for test and demo stacks)."
  type        = bool
  default     = false
}

variable "prefix" {
  description = "S3 prefix of delivered objects. Must contain !{timestamp:yyyy/MM/dd} (the Glue table projects its dt partition on it) and end with '/'."
  type        = string
  default     = "logs/!{timestamp:yyyy/MM/dd}/"

  validation {
    condition     = length(regexall("!\\{timestamp:yyyy/MM/dd\\}", var.prefix)) == 1 && endswith(var.prefix, "/") && !startswith(var.prefix, "/")
    error_message = "prefix must contain !{timestamp:yyyy/MM/dd} exactly once, end with '/', and not start with '/'."
  }
}

variable "error_output_prefix" {
  description = "S3 prefix for records Firehose could not process or deliver."
  type        = string
  default     = "errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/"

  validation {
    condition     = strcontains(var.error_output_prefix, "!{firehose:error-output-type}") && endswith(var.error_output_prefix, "/")
    error_message = "error_output_prefix must contain !{firehose:error-output-type} and end with '/'."
  }
}

variable "buffering_size" {
  description = "Firehose S3 buffer size in MiB."
  type        = number
  default     = 64

  validation {
    condition     = var.buffering_size >= 1 && var.buffering_size <= 128
    error_message = "buffering_size must be between 1 and 128 MiB."
  }
}

variable "buffering_interval" {
  description = "Firehose S3 buffer interval in seconds."
  type        = number
  default     = 300

  validation {
    condition     = var.buffering_interval >= 0 && var.buffering_interval <= 900
    error_message = "buffering_interval must be between 0 and 900 seconds."
  }
}

variable "processor_buffer_size" {
  description = "MiB of records Firehose hands to one Lambda invocation (0.2-3). 1 keeps responses well below Lambda's 6 MB limit; the function re-ingests what does not fit anyway."
  type        = number
  default     = 1

  validation {
    condition     = var.processor_buffer_size >= 0.2 && var.processor_buffer_size <= 3
    error_message = "processor_buffer_size must be between 0.2 and 3 MiB."
  }
}

variable "processor_buffer_interval" {
  description = "Seconds Firehose buffers records before invoking the Lambda (0-900)."
  type        = number
  default     = 60

  validation {
    condition     = var.processor_buffer_interval >= 0 && var.processor_buffer_interval <= 900
    error_message = "processor_buffer_interval must be between 0 and 900 seconds."
  }
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for the bucket, the stream and the log groups. null: SSE-S3 for the bucket and an AWS owned key for the stream."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), not an alias."
  }
}

variable "kinesis_source_stream_arn" {
  description = "Read from this Kinesis Data Stream instead of accepting direct puts. The transform then re-ingests oversize records into that stream."
  type        = string
  default     = null

  validation {
    condition     = var.kinesis_source_stream_arn == null || can(regex("^arn:aws[a-z-]*:kinesis:[a-z0-9-]+:[0-9]{12}:stream/.+$", var.kinesis_source_stream_arn))
    error_message = "kinesis_source_stream_arn must be a Kinesis stream ARN."
  }
}

# --- The transform function (module.function: lambda-function validates these) ---

variable "memory_size" {
  description = "Memory of the transform function in MB (CPU scales with it)."
  type        = number
  default     = 1024
}

variable "timeout" {
  description = "Timeout of the transform function in seconds (Firehose waits up to 5 minutes for a transform)."
  type        = number
  default     = 120

  validation {
    condition     = var.timeout <= 300
    error_message = "timeout must be at most 300 seconds: Firehose waits 5 minutes for a transform."
  }
}

variable "reserved_concurrent_executions" {
  description = "Reserved concurrency of the transform function (null: unreserved)."
  type        = number
  default     = null
}

variable "architecture" {
  description = "Instruction set of the image: x86_64 or arm64 (build.py --arch)."
  type        = string
  default     = "x86_64"
}

variable "tracing_mode" {
  description = "X-Ray tracing of the transform: PassThrough (no handler uses the Powertools Tracer) or Active."
  type        = string
  default     = "PassThrough"
}

variable "create_function_role" {
  description = "Create the transform's execution role. false: use function_role_arn."
  type        = bool
  default     = true
}

variable "function_role_arn" {
  description = "With create_function_role = false: the transform's execution role (it needs the statements of the README's IAM section, and to write its log group)."
  type        = string
  default     = null
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

variable "reingest_max_attempts" {
  description = "Attempts per re-ingestion batch (PutRecordBatch, or PutRecords when the source is a Kinesis stream), with exponential backoff and full jitter. Records still not re-ingested when the attempts or the invocation's time run out become ProcessingFailed (Firehose writes them, with their data, under the error prefix) and the invocation returns: it does not fail, so nothing already re-ingested is put back twice. They count in the ReingestFailures and RecordsFailed metrics (failed-records alarm)."
  type        = number
  default     = 10

  validation {
    condition     = var.reingest_max_attempts >= 1 && var.reingest_max_attempts <= 50
    error_message = "reingest_max_attempts must be between 1 and 50."
  }
}

variable "log_level" {
  description = "Powertools log level of the transform function: DEBUG, INFO, WARNING or ERROR."
  type        = string
  default     = "INFO"
}

variable "log_retention_in_days" {
  description = "Retention of the function's and the Firehose delivery log groups (a year by default, for incident reviews)."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_in_days)
    error_message = "log_retention_in_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)."
  }
}

variable "create_glue_table" {
  description = "Create a Glue database and table over the delivered objects, with partition projection on the date prefix, so Athena can query them right after apply. With output_format = \"custom\" the table's columns are the columns variable: set them, or set this to false."
  type        = bool
  default     = true

  validation {
    condition     = !(var.create_glue_table && var.output_format == "custom" && length(var.columns) == 0)
    error_message = "output_format = \"custom\" with create_glue_table = true needs columns (the keys your transform writes, which become the Glue table's columns); or set create_glue_table = false."
  }
}

variable "glue_database_name" {
  description = "Glue database name; null derives one from name."
  type        = string
  default     = null

  validation {
    condition     = var.glue_database_name == null || can(regex("^[a-z0-9_]{1,255}$", coalesce(var.glue_database_name, "x")))
    error_message = "glue_database_name must be lower-case letters, digits and '_'."
  }
}

variable "glue_table_name" {
  description = "Glue table name."
  type        = string
  default     = "logs"

  validation {
    condition     = can(regex("^[a-z0-9_]{1,255}$", var.glue_table_name))
    error_message = "glue_table_name must be lower-case letters, digits and '_'."
  }
}

variable "projection_start_date" {
  description = "First day (yyyy/MM/dd) of the dt partition projection."
  type        = string
  default     = "2024/01/01"

  validation {
    condition     = can(regex("^[0-9]{4}/[0-9]{2}/[0-9]{2}$", var.projection_start_date))
    error_message = "projection_start_date must look like 2024/01/01."
  }
}

variable "create_alarms" {
  description = "Create CloudWatch alarms: Lambda errors and throttles, failed records, Firehose data freshness and processing failures."
  type        = bool
  default     = true
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

variable "freshness_threshold_seconds" {
  description = "Alarm when the oldest record in Firehose is older than this (DeliveryToS3.DataFreshness)."
  type        = number
  default     = 900

  validation {
    condition     = var.freshness_threshold_seconds >= 60
    error_message = "freshness_threshold_seconds must be at least 60."
  }
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
