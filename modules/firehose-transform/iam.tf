# --- Firehose: write only its bucket prefixes, invoke only its Lambda, log only to its log group ---

data "aws_iam_policy_document" "firehose_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["firehose.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "sts:ExternalId"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "firehose" {
  name_prefix        = "${substr(var.name, 0, 30)}-firehose-"
  assume_role_policy = data.aws_iam_policy_document.firehose_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "firehose" {
  statement {
    sid       = "ListBucket"
    actions   = ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"]
    resources = [local.bucket_arn]
  }

  statement {
    sid     = "WriteItsPrefixes"
    actions = ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"]
    resources = distinct([
      "${local.bucket_arn}/${local.prefix_static}*",
      "${local.bucket_arn}/${local.error_prefix_static}*",
    ])
  }

  statement {
    sid       = "DeliveryLogs"
    actions   = ["logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.delivery.arn}:log-stream:*"]
  }

  dynamic "statement" {
    for_each = local.use_lambda ? [1] : []
    content {
      sid       = "InvokeItsTransform"
      actions   = ["lambda:InvokeFunction", "lambda:GetFunctionConfiguration"]
      resources = [aws_lambda_function.transform[0].arn, "${aws_lambda_function.transform[0].arn}:*"]
    }
  }

  dynamic "statement" {
    for_each = var.kinesis_source_stream_arn == null ? [] : [1]
    content {
      sid       = "ReadSourceStream"
      actions   = ["kinesis:DescribeStream", "kinesis:GetShardIterator", "kinesis:GetRecords", "kinesis:ListShards"]
      resources = [var.kinesis_source_stream_arn]
    }
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [1]
    content {
      sid       = "EncryptObjects"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [var.kms_key_arn]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${local.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "firehose" {
  name   = "delivery"
  role   = aws_iam_role.firehose.id
  policy = data.aws_iam_policy_document.firehose.json
}

# --- The transform Lambda: its own logs, X-Ray, re-ingestion into its own stream only ---

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
  count = local.use_lambda ? 1 : 0

  name_prefix        = "${substr(var.name, 0, 30)}-transform-"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "lambda" {
  count = local.use_lambda ? 1 : 0

  statement {
    sid       = "OwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.lambda[0].arn}:*"]
  }

  statement {
    sid = "Tracing"
    # X-Ray's PutTraceSegments and PutTelemetryRecords do not support resource-level permissions.
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }

  statement {
    sid       = "ReingestIntoItsStream"
    actions   = var.kinesis_source_stream_arn == null ? ["firehose:PutRecordBatch"] : ["kinesis:PutRecords"]
    resources = [coalesce(var.kinesis_source_stream_arn, local.delivery_stream_arn)]
  }
}

resource "aws_iam_role_policy" "lambda" {
  count = local.use_lambda ? 1 : 0

  name   = "transform"
  role   = aws_iam_role.lambda[0].id
  policy = data.aws_iam_policy_document.lambda[0].json
}

# --- The role CloudWatch Logs subscription filters use to put records into the stream ---

data "aws_iam_policy_document" "cloudwatch_logs_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["logs.amazonaws.com"]
    }
    condition {
      test     = "StringLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:*"]
    }
  }
}

resource "aws_iam_role" "cloudwatch_logs" {
  count = var.kinesis_source_stream_arn == null ? 1 : 0

  name_prefix        = "${substr(var.name, 0, 30)}-cwl-"
  assume_role_policy = data.aws_iam_policy_document.cloudwatch_logs_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "cloudwatch_logs" {
  statement {
    sid       = "PutIntoThisStream"
    actions   = ["firehose:PutRecord", "firehose:PutRecordBatch"]
    resources = [aws_kinesis_firehose_delivery_stream.this.arn]
  }
}

resource "aws_iam_role_policy" "cloudwatch_logs" {
  count = var.kinesis_source_stream_arn == null ? 1 : 0

  name   = "put-records"
  role   = aws_iam_role.cloudwatch_logs[0].id
  policy = data.aws_iam_policy_document.cloudwatch_logs.json
}
