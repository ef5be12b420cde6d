# --- The consumer Lambda: read this stream, write its two prefixes, park failures in its queue ---

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "lambda" {
  name_prefix        = "${substr(var.name, 0, 30)}-consumer-"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "lambda" {
  statement {
    sid       = "OwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.lambda.arn}:*"]
  }

  statement {
    sid = "Tracing"
    # X-Ray's PutTraceSegments and PutTelemetryRecords do not support resource-level permissions.
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }

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

  statement {
    sid       = "ParkFailedBatches"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.failures.arn]
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

resource "aws_iam_role_policy" "lambda" {
  name   = "consumer"
  role   = aws_iam_role.lambda.id
  policy = data.aws_iam_policy_document.lambda.json
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
  description = "Put records into the Kinesis stream ${var.name} (and publish KPL metrics)."
  policy      = data.aws_iam_policy_document.producer.json
  tags        = var.tags
}
