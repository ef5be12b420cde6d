# --- The consumer Lambda: read this stream, write its two prefixes, park failures in its queue ---

# module.function creates the role (or takes function_role_arn) with its own-logs statement;
# this is what the consumer needs besides.
data "aws_iam_policy_document" "function" {
  statement {
    sid = "ReadThisStream"
    actions = [
      "kinesis:DescribeStream",
      "kinesis:DescribeStreamSummary",
      "kinesis:GetRecords",
      "kinesis:GetShardIterator",
      "kinesis:ListShards",
    ]
    resources = [aws_kinesis_stream.this.arn]
  }

  statement {
    sid     = "WriteItsPrefixes"
    actions = ["s3:PutObject"]
    resources = [
      "${local.bucket_arn}/${var.prefix}*",
      "${local.bucket_arn}/${var.dead_letter_prefix}*",
    ]
  }

  # The event source mapping writes given-up batches as the function's role: Lambda needs
  # s3:PutObject and s3:ListBucket on an S3 on-failure destination (Lambda developer guide,
  # "Retain discarded batch records for a Kinesis Data Streams event source").
  dynamic "statement" {
    for_each = var.failed_batches_destination == "s3" ? [1] : []
    content {
      sid       = "RetainFailedBatches"
      actions   = ["s3:PutObject", "s3:ListBucket"]
      resources = [local.bucket_arn, "${local.bucket_arn}/aws/lambda/*"]
    }
  }

  statement {
    sid       = "ParkFailedBatches"
    actions   = ["sqs:SendMessage"]
    resources = [module.failures.arn]
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [1]
    content {
      sid       = "DecryptTheStreamAndQueue"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [var.kms_key_arn]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["kinesis.${local.region}.amazonaws.com", "sqs.${local.region}.amazonaws.com"]
      }
    }
  }

  dynamic "statement" {
    for_each = local.bucket_kms_key_arn == null ? [] : [1]
    content {
      sid       = "EncryptObjects"
      actions   = ["kms:GenerateDataKey"]
      resources = [local.bucket_kms_key_arn]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${local.region}.amazonaws.com"]
      }
    }
  }
}

# --- The producer (fluentd's kinesis_streams_aggregated, or the KPL) on its instance role ---

data "aws_iam_policy_document" "producer" {
  statement {
    sid       = "PutIntoThisStream"
    actions   = ["kinesis:PutRecord", "kinesis:PutRecords", "kinesis:DescribeStream", "kinesis:ListShards"]
    resources = [aws_kinesis_stream.this.arn]
  }

  statement {
    sid = "ProducerMetrics"
    # PutMetricData has no resource-level permissions; the namespace condition limits it to the KPL's metrics.
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = ["KinesisProducerLibrary"]
    }
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [1]
    content {
      sid       = "EncryptIntoThisStream"
      actions   = ["kms:GenerateDataKey"]
      resources = [var.kms_key_arn]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["kinesis.${local.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_policy" "producer" {
  count = var.create_producer_policy ? 1 : 0

  name_prefix = "${substr(var.name, 0, 30)}-producer-"
  path        = var.role_path
  description = "Put records into the Kinesis stream ${var.name} (and publish KPL metrics)."
  policy      = data.aws_iam_policy_document.producer.json
  tags        = var.tags
}
