variable "region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "us-east-1"
}

variable "image_uris" {
  description = "Function name => image URI, as build.py writes it to build/images.auto.tfvars.json."
  type        = map(string)

  validation {
    condition     = contains(keys(var.image_uris), "firehose_transform")
    error_message = "image_uris must have a firehose_transform entry: run `python build.py --push firehose_transform`."
  }
}

variable "name" {
  description = "Name of the pipeline (delivery stream, log group suffix, Glue database)."
  type        = string
  default     = "app-logs"
}

variable "output_format" {
  description = "raw, json, columns or csv (see the firehose-transform module)."
  type        = string
  default     = "json"
}

variable "columns" {
  description = "With output_format = columns or csv: the columns of the lines and of the Glue table ({ name, type, source }; see the firehose-transform module)."
  type = list(object({
    name   = string
    type   = string
    source = string
  }))
  default = []
}

variable "message_regex" {
  description = "With columns or csv: a Python regex with named groups, for regex.<group> sources."
  type        = string
  default     = null
}

variable "on_unparsed" {
  description = "With columns or csv: keep_raw (a row with the message in _raw) or drop."
  type        = string
  default     = "keep_raw"
}
