# CloudWatch Logs -> subscription filter -> Kinesis data stream (encrypted with a customer
# managed key). Consumers read gzipped CloudWatch Logs payloads from the stream, e.g. the
# logpipes archiver or the kinesis-kpl consumer.

resource "aws_kms_key" "stream" {
  # checkov:skip=CKV2_AWS_64:The default key policy (the account administers the key through IAM) is what an explicit one would say here.
  description             = "Encrypts the ${var.name} Kinesis stream."
  enable_key_rotation     = true
  deletion_window_in_days = 7
}

resource "aws_kinesis_stream" "logs" {
  name             = var.name
  shard_count      = var.shard_count
  retention_period = 24
  encryption_type  = "KMS"
  kms_key_id       = aws_kms_key.stream.arn

  stream_mode_details {
    stream_mode = "PROVISIONED"
  }
}

resource "aws_cloudwatch_log_group" "app" {
  # checkov:skip=CKV_AWS_158:The example uses the CloudWatch Logs default encryption; pass a KMS key in production.
  name              = "/logpipes/${var.name}/app"
  retention_in_days = 365
}

module "subscription" {
  source = "../../modules/subscription-filter"

  name                    = "${var.name}-to-kinesis"
  destination_type        = "kinesis"
  destination_arn         = aws_kinesis_stream.logs.arn
  destination_kms_key_arn = aws_kms_key.stream.arn
  log_groups = {
    (aws_cloudwatch_log_group.app.name) = { distribution = "Random" }
  }
}
