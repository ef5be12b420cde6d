variable "region" {
  description = "AWS region to deploy into (the region of the Redshift cluster or workgroup)."
  type        = string
  default     = "us-east-1"
}

variable "image_uris" {
  description = "Function name => image URI, as build.py writes it to build/images.auto.tfvars.json."
  type        = map(string)

  validation {
    condition     = contains(keys(var.image_uris), "s3log_redshift")
    error_message = "image_uris must have an s3log_redshift entry: run `python build.py --push s3log_redshift`."
  }
}

variable "name" {
  description = "Name of the pipeline (queue, function, role and bucket names start with it)."
  type        = string
  default     = "photo-access-logs"

  validation {
    condition     = can(regex("^[a-z0-9-]{1,30}$", var.name))
    error_message = "name must be 1-30 lower-case letters, digits or '-' (it prefixes bucket names)."
  }
}

# With neither of these, the example creates a Redshift Serverless namespace and workgroup (an
# empty account needs nothing else); name an existing cluster or workgroup to load there instead.

variable "redshift_cluster_identifier" {
  description = "Existing provisioned cluster to load into. Null (with redshift_workgroup_name null): a Serverless namespace and workgroup are created."
  type        = string
  default     = null
}

variable "redshift_workgroup_name" {
  description = "Existing Redshift Serverless workgroup to load into (instead of a cluster). Null (with redshift_cluster_identifier null): one is created."
  type        = string
  default     = null

  validation {
    condition     = var.redshift_workgroup_name == null || var.redshift_cluster_identifier == null
    error_message = "Set redshift_cluster_identifier or redshift_workgroup_name, not both."
  }
}

variable "serverless_base_capacity" {
  description = "Base capacity (RPUs) of the created workgroup; 8 is the smallest Redshift Serverless allows."
  type        = number
  default     = 8

  validation {
    condition     = var.serverless_base_capacity >= 8 && var.serverless_base_capacity % 8 == 0
    error_message = "serverless_base_capacity must be a multiple of 8, at least 8."
  }
}

variable "redshift_database" {
  description = "Database of the target schema."
  type        = string
  default     = "dev"
}

variable "redshift_secret_arn" {
  description = "Secrets Manager secret of the loader's database user. Null: the created namespace's admin secret, or with an existing cluster or workgroup the loader's IAM identity (a database user named IAMR:<role name>; see the module README for the grants)."
  type        = string
  default     = null
}

variable "log_retention_days" {
  description = "Days the raw access log objects are kept in the log bucket."
  type        = number
  default     = 365

  validation {
    condition     = var.log_retention_days >= 1
    error_message = "log_retention_days must be at least 1."
  }
}
