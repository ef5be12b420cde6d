variable "region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "us-east-1"
}

variable "image_uris" {
  description = "Function name => image URI, as build.py writes it to build/images.auto.tfvars.json."
  type        = map(string)

  validation {
    condition     = contains(keys(var.image_uris), "subscription_filter")
    error_message = "image_uris must have a subscription_filter entry: run `python build.py --push subscription_filter`."
  }
}

variable "name" {
  description = "Name of the pipeline: the archiver function, the log groups' prefix, the filters."
  type        = string
  default     = "efs-archive"

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,40}$", var.name))
    error_message = "name must be 1-40 characters of letters, digits, '_' or '-'."
  }
}

variable "time_zone" {
  description = "IANA time zone of the archive's days and timestamps."
  type        = string
  default     = "Asia/Tokyo"
}

variable "vpc_cidr" {
  description = "CIDR of the example VPC (two private subnets, no internet access: the archiver needs none)."
  type        = string
  default     = "10.42.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && tonumber(split("/", var.vpc_cidr)[1]) <= 24
    error_message = "vpc_cidr must be an IPv4 CIDR of /24 or larger."
  }
}

variable "enable_backup" {
  description = "Automatic AWS Backup of the archive file system (the tests turn it off: moto has no EFS backup policy API)."
  type        = bool
  default     = true
}

variable "enforce_encryption_in_transit" {
  description = "File system policy refusing clients without TLS (the tests turn it off: moto cannot delete EFS file system policies)."
  type        = bool
  default     = true
}
