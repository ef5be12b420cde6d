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
  name_prefix          = "${substr(var.name, 0, 30)}-firehose-"
  path                 = var.role_path
  assume_role_policy   = data.aws_iam_policy_document.firehose_assume.json
  permissions_boundary = var.permissions_boundary
  tags                 = var.tags
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
      resources = [module.function[0].function_arn, "${module.function[0].function_arn}:*"]
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

# --- The transform Lambda (module.function: its role and own logs): re-ingestion into its own stream only ---

data "aws_iam_policy_document" "function" {
  statement {
    sid       = "ReingestIntoItsStream"
    actions   = var.kinesis_source_stream_arn == null ? ["firehose:PutRecordBatch"] : ["kinesis:PutRecords"]
    resources = [coalesce(var.kinesis_source_stream_arn, local.delivery_stream_arn)]
  }
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

  name_prefix          = "${substr(var.name, 0, 30)}-cwl-"
  path                 = var.role_path
  assume_role_policy   = data.aws_iam_policy_document.cloudwatch_logs_assume.json
  permissions_boundary = var.permissions_boundary
  tags                 = var.tags
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
