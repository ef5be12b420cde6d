variable "region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "us-east-1"
}

variable "image_uris" {
  description = "Function name => image URI, as build.py writes it to build/images.auto.tfvars.json."
  type        = map(string)

  validation {
    condition     = contains(keys(var.image_uris), "kinesis_kpl")
    error_message = "image_uris must have a kinesis_kpl entry: run `python build.py --push kinesis_kpl`."
  }
}

variable "name" {
  description = "Name of the pipeline (stream, consumer, queue and role names start with it)."
  type        = string
  default     = "web-access-logs"

  validation {
    condition     = can(regex("^[a-zA-Z0-9_.-]{1,40}$", var.name))
    error_message = "name must be 1-40 characters of letters, digits, '_', '.' or '-'."
  }
}

variable "access_log_path" {
  description = "Apache access log that td-agent tails on the producer instance."
  type        = string
  default     = "/var/log/httpd/access_log"
}

variable "fluentd_tag" {
  description = "fluentd tag of the access log events."
  type        = string
  default     = "apache.access"

  validation {
    condition     = can(regex("^[a-zA-Z0-9_.]+$", var.fluentd_tag))
    error_message = "fluentd_tag must be letters, digits, '_' and '.'."
  }
}
