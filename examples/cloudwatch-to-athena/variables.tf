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
  description = "raw or json (see the firehose-transform module)."
  type        = string
  default     = "json"
}
