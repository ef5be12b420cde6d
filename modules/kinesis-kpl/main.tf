data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  lambda_name = "${var.name}-consumer"
  bucket_name = var.create_bucket ? module.bucket[0].id : var.bucket_name
  bucket_arn  = "arn:${local.partition}:s3:::${local.bucket_name}"
  # The customer managed key the function needs to write objects with, if any.
  bucket_kms_key_arn = var.create_bucket ? var.kms_key_arn : var.bucket_kms_key_arn
  # Without a customer managed key the stream is still KMS-encrypted, with the AWS managed key.
  stream_kms_key_id = coalesce(var.kms_key_arn, "alias/aws/kinesis")
}

resource "aws_kinesis_stream" "this" {
  # checkov:skip=CKV_AWS_185:Encrypted with KMS always; the AWS managed key is the default so that the module works without a key, and kms_key_arn selects a customer managed key.
  name             = var.name
  shard_count      = var.stream_mode == "PROVISIONED" ? var.shard_count : null
  retention_period = var.retention_period
  encryption_type  = "KMS"
  kms_key_id       = local.stream_kms_key_id
  tags             = var.tags

  stream_mode_details {
    stream_mode = var.stream_mode
  }
}

# Where Lambda sends the metadata of a batch it gives up on (retries or record age exhausted), with
# failed_batches_destination = "sqs", so that a poison batch is parked instead of blocking its
# shard until the records expire.
module "failures" {
  source = "../private-queue"

  name                      = "${var.name}-failures"
  message_retention_seconds = var.failure_queue_retention_seconds
  kms_key_arn               = var.kms_key_arn
  tags                      = var.tags
}
