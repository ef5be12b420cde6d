variable "name" {
  description = "Name of the pipeline; the prefix of every resource the module creates."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,40}$", var.name))
    error_message = "name must be 1-40 characters of letters, digits, '_' or '-'."
  }
}

variable "image_uri" {
  description = "ECR image URI of the s3log_redshift loader (build.py writes it to build/images.auto.tfvars.json); lambda-function checks it is repository:tag or repository@sha256:digest."
  type        = string
}

# --- The log bucket ----------------------------------------------------------------------------

variable "log_bucket_name" {
  description = "Existing bucket that receives the S3 server access logs (the target bucket of the source buckets' logging configuration)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.log_bucket_name))
    error_message = "log_bucket_name must be an S3 bucket name."
  }
}

variable "log_prefix" {
  description = "Key prefix of the access log objects in log_bucket_name (the logging configuration's target prefix); only new objects under it are loaded. Empty for the whole bucket."
  type        = string
  default     = ""

  validation {
    condition     = var.log_prefix == "" || (endswith(var.log_prefix, "/") && !startswith(var.log_prefix, "/"))
    error_message = "log_prefix must be empty or end with '/' (and not start with '/')."
  }
}

variable "create_bucket_notification" {
  description = "Create the log bucket's notification configuration (ObjectCreated under log_prefix -> the queue). An S3 bucket has ONE notification configuration: set false when something else manages it, and add queue_arn to it there."
  type        = bool
  default     = true
}

# --- Redshift ------------------------------------------------------------------------------------

variable "redshift_cluster_identifier" {
  description = "Identifier of the provisioned Redshift cluster to load into (set this or redshift_workgroup_name)."
  type        = string
  default     = null

  validation {
    condition     = var.redshift_cluster_identifier == null || var.redshift_workgroup_name == null
    error_message = "Set exactly one of redshift_cluster_identifier, redshift_workgroup_name and redshift_workgroup."
  }
}

variable "redshift_workgroup_name" {
  description = "Name of an existing Redshift Serverless workgroup to load into (set this, redshift_workgroup or redshift_cluster_identifier); the module looks up its ARN."
  type        = string
  default     = null
}

variable "redshift_workgroup" {
  description = "A Redshift Serverless workgroup created in the same configuration (pass the aws_redshiftserverless_workgroup resource: its workgroup_name and arn are used). redshift_workgroup_name would look it up during the plan, before it exists."
  type = object({
    workgroup_name = string
    arn            = string
  })
  default = null

  validation {
    # Checked here, not on redshift_cluster_identifier: that one must not depend on a workgroup
    # of the same configuration, whose namespace takes the copy role (a cycle).
    condition     = var.redshift_workgroup == null ? (var.redshift_cluster_identifier != null || var.redshift_workgroup_name != null) : (var.redshift_cluster_identifier == null && var.redshift_workgroup_name == null)
    error_message = "Set exactly one of redshift_cluster_identifier, redshift_workgroup_name and redshift_workgroup."
  }
}

variable "redshift_database" {
  description = "Database that holds the target schema."
  type        = string
  default     = "dev"

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_$]{0,63}$", var.redshift_database))
    error_message = "redshift_database must be a lower-case database name."
  }
}

variable "redshift_secret_arn" {
  description = "Secrets Manager secret with the database user's credentials (username, password). Null: temporary credentials instead (redshift_db_user on a cluster, or the loader's IAM identity)."
  type        = string
  default     = null

  validation {
    condition     = var.redshift_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$", var.redshift_secret_arn))
    error_message = "redshift_secret_arn must be a Secrets Manager secret ARN."
  }

  validation {
    condition     = var.redshift_secret_arn == null || var.redshift_db_user == null
    error_message = "Set redshift_secret_arn or redshift_db_user, not both."
  }
}

variable "redshift_secret_kms_key_arn" {
  description = "Customer managed KMS key of redshift_secret_arn, if it has one (the loader gets kms:Decrypt through Secrets Manager)."
  type        = string
  default     = null

  validation {
    condition     = var.redshift_secret_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", coalesce(var.redshift_secret_kms_key_arn, "-")))
    error_message = "redshift_secret_kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), not an alias."
  }
}

variable "redshift_db_user" {
  description = "Provisioned clusters without a secret: the database user the loader gets temporary credentials for (redshift:GetClusterCredentials). Null: a user named after the loader's IAM role (GetClusterCredentialsWithIAM)."
  type        = string
  default     = null

  validation {
    condition     = var.redshift_db_user == null || var.redshift_cluster_identifier != null
    error_message = "redshift_db_user applies to provisioned clusters only."
  }
}

variable "target_schema" {
  description = "Schema of the target and ledger tables (created if missing)."
  type        = string
  default     = "logpipes"

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_]{0,126}$", var.target_schema))
    error_message = "target_schema must be a lower-case SQL identifier."
  }
}

variable "target_table" {
  description = "Table the access log rows go to (created on first load if missing)."
  type        = string
  default     = "s3_access_log"

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_]{0,126}$", var.target_table))
    error_message = "target_table must be a lower-case SQL identifier."
  }
}

variable "ledger_table" {
  description = "Load ledger table: one row per loaded log object. Null: <target_table>_ledger."
  type        = string
  default     = null

  validation {
    condition     = var.ledger_table == null || can(regex("^[a-z_][a-z0-9_]{0,126}$", coalesce(var.ledger_table, "x")))
    error_message = "ledger_table must be a lower-case SQL identifier."
  }
}

variable "create_copy_role" {
  description = "Create the IAM role Redshift assumes to read the staged files (COPY … IAM_ROLE). Associate copy_role_arn with the cluster or namespace. Set false to use copy_role_arn instead."
  type        = bool
  default     = true
}

variable "copy_role_arn" {
  description = "With create_copy_role = false: an IAM role already associated with the cluster or namespace that can read the staging bucket."
  type        = string
  default     = null

  validation {
    condition     = var.create_copy_role || var.copy_role_arn != null
    error_message = "copy_role_arn is required when create_copy_role = false."
  }
}

# --- Staging -------------------------------------------------------------------------------------

variable "create_staging_bucket" {
  description = "Create the staging bucket for normalised files and rejects (encrypted, private, with expiry). Set false to use staging_bucket_name."
  type        = bool
  default     = true
}

variable "staging_bucket_name" {
  description = "Staging bucket name. With create_staging_bucket = true, null lets AWS generate one from name."
  type        = string
  default     = null

  validation {
    condition     = var.create_staging_bucket || var.staging_bucket_name != null
    error_message = "staging_bucket_name is required when create_staging_bucket = false."
  }
}

variable "staging_prefix" {
  description = "Prefix of the staged gzip CSV files and COPY manifests in the staging bucket."
  type        = string
  default     = "staging/"

  validation {
    condition     = endswith(var.staging_prefix, "/") && !startswith(var.staging_prefix, "/") && length(var.staging_prefix) > 1
    error_message = "staging_prefix must end with '/' and not start with '/'."
  }
}

variable "rejects_prefix" {
  description = "Prefix of the reject records (lines that do not parse: object key, line number, reason, raw line)."
  type        = string
  default     = "rejects/"

  validation {
    condition     = endswith(var.rejects_prefix, "/") && !startswith(var.rejects_prefix, "/") && length(var.rejects_prefix) > 1 && !startswith(var.rejects_prefix, var.staging_prefix) && !startswith(var.staging_prefix, var.rejects_prefix)
    error_message = "rejects_prefix must end with '/', not start with '/', and not overlap staging_prefix."
  }
}

variable "staging_expiration_days" {
  description = "Days after which staged files are deleted (they are only needed until their batch is loaded, or for a post-mortem)."
  type        = number
  default     = 7

  validation {
    condition     = var.staging_expiration_days >= 1
    error_message = "staging_expiration_days must be at least 1."
  }
}

variable "rejects_expiration_days" {
  description = "Days after which reject records are deleted."
  type        = number
  default     = 90

  validation {
    condition     = var.rejects_expiration_days >= 1
    error_message = "rejects_expiration_days must be at least 1."
  }
}

variable "force_destroy" {
  description = "Allow terraform destroy to delete the created staging bucket with its objects (for test and demo stacks)."
  type        = bool
  default     = false
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for the queues, the staging bucket, the function's environment and its log group. Null: SQS-managed and S3-managed encryption. Its key policy must let s3.amazonaws.com use it (notifications into the queue) and CloudWatch Logs and Redshift (through the copy role) too."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), not an alias."
  }
}

# --- Queue and function ----------------------------------------------------------------------------

variable "batch_size" {
  description = "Most notifications (log objects) per invocation, hence per load transaction. With the default window, 1,000 small objects arriving together load in 2 transactions (4 COPY statements)."
  type        = number
  default     = 500

  validation {
    condition     = var.batch_size >= 1 && var.batch_size <= 10000
    error_message = "batch_size must be 1 to 10000."
  }
}

variable "maximum_batching_window_in_seconds" {
  description = "How long Lambda gathers notifications before invoking (the latency traded for fewer, bigger COPYs)."
  type        = number
  default     = 60

  validation {
    condition     = var.maximum_batching_window_in_seconds >= 0 && var.maximum_batching_window_in_seconds <= 300
    error_message = "maximum_batching_window_in_seconds must be 0 to 300."
  }

  validation {
    condition     = var.batch_size <= 10 || var.maximum_batching_window_in_seconds >= 1
    error_message = "SQS event sources need a batching window of at least 1 second for a batch_size above 10."
  }
}

variable "maximum_concurrency" {
  description = "Most concurrent loader invocations (the event source mapping's scaling limit). Loads of one table are serialised by a lock anyway."
  type        = number
  default     = 2

  validation {
    condition     = var.maximum_concurrency >= 2 && var.maximum_concurrency <= 1000
    error_message = "maximum_concurrency must be 2 to 1000."
  }
}

variable "max_receive_count" {
  description = "Deliveries of a notification before it moves to the dead-letter queue."
  type        = number
  default     = 5
}

variable "dead_letter_retention_seconds" {
  description = "How long dead-lettered notifications are kept (the SQS maximum, 14 days, by default)."
  type        = number
  default     = 1209600
}

variable "timeout" {
  description = "Loader timeout in seconds. The queue's visibility timeout is six times this plus the batching window."
  type        = number
  default     = 300

  validation {
    condition     = var.timeout >= 60
    error_message = "timeout must be at least 60 (the load deadline keeps 15 s back); lambda-function checks the upper bound, 900."
  }
}

variable "memory_size" {
  description = "Loader memory in MB (CPU scales with it; staged files up to 64 MB stay in memory)."
  type        = number
  default     = 1024

  validation {
    condition     = var.memory_size >= 256
    error_message = "memory_size must be at least 256 (staged files stay in memory); lambda-function checks the upper bound, 10240."
  }
}

variable "gzip_level" {
  description = "gzip level of the staged files: 1 (fastest, default: they are read once and expire) to 9."
  type        = number
  default     = 1

  validation {
    condition     = var.gzip_level >= 1 && var.gzip_level <= 9
    error_message = "gzip_level must be 1 to 9."
  }
}

# --- The function (module.function: lambda-function validates these) ----------------------------

variable "architecture" {
  description = "Instruction set of the loader image: x86_64 or arm64 (build.py --arch)."
  type        = string
  default     = "x86_64"
}

variable "reserved_concurrent_executions" {
  description = "Reserved concurrency of the loader (null: unreserved). maximum_concurrency already limits what the queue starts."
  type        = number
  default     = null
}

variable "log_retention_in_days" {
  description = "Retention of the loader's log group (a CloudWatch Logs value: 1, 3, 5, 7, 14, 30, 60, 90, ... 3653)."
  type        = number
  default     = 30
}

variable "log_level" {
  description = "Powertools log level of the loader: DEBUG, INFO, WARNING or ERROR."
  type        = string
  default     = "INFO"
}

variable "tracing_mode" {
  description = "X-Ray tracing of the loader: PassThrough (no handler uses the Powertools Tracer) or Active."
  type        = string
  default     = "PassThrough"
}

variable "create_function_role" {
  description = "Create the loader's execution role. false: use function_role_arn."
  type        = bool
  default     = true
}

variable "function_role_arn" {
  description = "With create_function_role = false: the loader's execution role. It needs the statements of the README's IAM section, and to write its log group. With IAM database authentication the database user is IAMR:<its name>."
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

# --- Alarms ----------------------------------------------------------------------------------------

variable "create_alarms" {
  description = "Create the CloudWatch alarms (dead letters, loader errors and throttles, failed loads, oldest message age, rejected lines)."
  type        = bool
  default     = true
}

variable "alarm_actions" {
  description = "ARNs (e.g. SNS topics) notified when an alarm fires and when it recovers (lambda-function checks they are ARNs)."
  type        = list(string)
  default     = []
}

variable "oldest_message_age_threshold_seconds" {
  description = "Alarm when the oldest waiting notification is older than this: loads are failing or falling behind."
  type        = number
  default     = 3600

  validation {
    condition     = var.oldest_message_age_threshold_seconds >= 60
    error_message = "oldest_message_age_threshold_seconds must be at least 60."
  }
}

variable "tags" {
  description = "Tags for every resource the module creates."
  type        = map(string)
  default     = {}
}
