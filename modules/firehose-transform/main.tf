data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  use_lambda = var.processor == "lambda"
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  # Built from the name so that the Lambda's policy can refer to the stream without a cycle
  # (the stream refers to the Lambda).
  delivery_stream_arn = "arn:${local.partition}:firehose:${local.region}:${local.account_id}:deliverystream/${var.name}"
  bucket_name         = var.create_bucket ? module.bucket[0].id : var.bucket_name
  bucket_arn          = "arn:${local.partition}:s3:::${local.bucket_name}"

  # The static part of each prefix, before its first !{...} expression: what IAM may write under.
  prefix_static       = split("!{", var.prefix)[0]
  error_prefix_static = split("!{", var.error_output_prefix)[0]

  delivery_log_group = "/aws/kinesisfirehose/${var.name}"
  lambda_name        = "${var.name}-transform"
}

resource "aws_cloudwatch_log_group" "delivery" {
  name              = local.delivery_log_group
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_cloudwatch_log_stream" "delivery" {
  name           = "DestinationDelivery"
  log_group_name = aws_cloudwatch_log_group.delivery.name
}

resource "aws_kinesis_firehose_delivery_stream" "this" {
  name        = var.name
  destination = "extended_s3"
  tags        = var.tags

  dynamic "kinesis_source_configuration" {
    for_each = var.kinesis_source_stream_arn == null ? [] : [var.kinesis_source_stream_arn]
    content {
      kinesis_stream_arn = kinesis_source_configuration.value
      role_arn           = aws_iam_role.firehose.arn
    }
  }

  # Direct-put streams encrypt at rest; a Kinesis-sourced stream relies on the source stream's encryption.
  dynamic "server_side_encryption" {
    for_each = var.kinesis_source_stream_arn == null ? [1] : []
    content {
      enabled  = true
      key_type = var.kms_key_arn == null ? "AWS_OWNED_CMK" : "CUSTOMER_MANAGED_CMK"
      key_arn  = var.kms_key_arn
    }
  }

  extended_s3_configuration {
    role_arn            = aws_iam_role.firehose.arn
    bucket_arn          = local.bucket_arn
    prefix              = var.prefix
    error_output_prefix = var.error_output_prefix
    buffering_size      = var.buffering_size
    buffering_interval  = var.buffering_interval
    compression_format  = "GZIP"
    kms_key_arn         = var.kms_key_arn

    cloudwatch_logging_options {
      enabled         = true
      log_group_name  = aws_cloudwatch_log_group.delivery.name
      log_stream_name = aws_cloudwatch_log_stream.delivery.name
    }

    processing_configuration {
      enabled = true

      dynamic "processors" {
        for_each = local.use_lambda ? [1] : []
        content {
          type = "Lambda"
          parameters {
            parameter_name  = "LambdaArn"
            parameter_value = "${module.function[0].function_arn}:$LATEST"
          }
          parameters {
            parameter_name  = "BufferSizeInMBs"
            parameter_value = tostring(var.processor_buffer_size)
          }
          parameters {
            parameter_name  = "BufferIntervalInSeconds"
            parameter_value = tostring(var.processor_buffer_interval)
          }
        }
      }

      # processor = "native": Firehose gunzips the CloudWatch Logs records and extracts the messages.
      dynamic "processors" {
        for_each = local.use_lambda ? [] : [1]
        content {
          type = "Decompression"
          parameters {
            parameter_name  = "CompressionFormat"
            parameter_value = "GZIP"
          }
        }
      }

      dynamic "processors" {
        for_each = local.use_lambda ? [] : [1]
        content {
          type = "CloudWatchLogProcessing"
          parameters {
            parameter_name  = "DataMessageExtraction"
            parameter_value = "true"
          }
        }
      }

      dynamic "processors" {
        for_each = local.use_lambda ? [] : [1]
        content {
          type = "AppendDelimiterToRecord"
        }
      }
    }
  }

  depends_on = [aws_iam_role_policy.firehose]
}
