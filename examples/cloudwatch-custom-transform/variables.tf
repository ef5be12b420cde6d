variable "region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "us-east-1"
}

variable "image_uris" {
  description = "Function name => image URI, as build.py writes it to build/images.auto.tfvars.json (build with --extra-package examples/cloudwatch-custom-transform/transform/mytransform)."
  type        = map(string)

  validation {
    condition     = contains(keys(var.image_uris), "firehose_transform")
    error_message = "image_uris must have a firehose_transform entry: run `python build.py --push firehose_transform --extra-package examples/cloudwatch-custom-transform/transform/mytransform`."
  }
}

variable "name" {
  description = "Name of the pipeline (delivery stream, log group suffix, Glue database)."
  type        = string
  default     = "app-logfmt"
}
