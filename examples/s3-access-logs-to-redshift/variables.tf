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

# The example does not create the warehouse: an existing provisioned cluster or Serverless
# workgroup is named here (the defaults suit `make demo`, where nothing checks that it exists).

variable "redshift_cluster_identifier" {
  description = "Existing provisioned cluster to load into. Set to null and set redshift_workgroup_name for Serverless."
  type        = string
  default     = "photo-analytics"
}

variable "redshift_workgroup_name" {
  description = "Existing Redshift Serverless workgroup to load into (instead of a cluster)."
  type        = string
  default     = null
}

variable "redshift_database" {
  description = "Database of the target schema."
  type        = string
  default     = "dev"
}

variable "redshift_secret_arn" {
  description = "Secrets Manager secret of the loader's database user. Null: the loader's IAM identity (a database user named IAMR:<role name> on clusters; see the module README for the grants)."
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
