# The role CloudWatch Logs assumes to put records into a Kinesis or Firehose destination: only
# the logs service of this region (and of the cross-account senders) may assume it, and it may
# only put records into destination_arn.

data "aws_iam_policy_document" "logs_assume" {
  count = local.create_role ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["logs.amazonaws.com"]
    }

    condition {
      test     = "StringLike"
      variable = "aws:SourceArn"
      values = [
        for account_id in concat([local.account_id], var.cross_account_sender_ids) : "arn:${local.partition}:logs:${local.region}:${account_id}:*"
      ]
    }
  }
}

data "aws_iam_policy_document" "logs_put" {
  count = local.create_role ? 1 : 0

  statement {
    sid       = "PutIntoTheDestinationOnly"
    actions   = var.destination_type == "kinesis" ? ["kinesis:PutRecord"] : ["firehose:PutRecord", "firehose:PutRecordBatch"]
    resources = [var.destination_arn]
  }

  dynamic "statement" {
    for_each = var.destination_kms_key_arn == null ? [] : [var.destination_kms_key_arn]

    content {
      sid       = "EncryptForTheStream"
      actions   = ["kms:GenerateDataKey"]
      resources = [statement.value]
      # The key only through Kinesis, for this stream's server-side encryption.
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["kinesis.${local.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role" "logs" {
  count = local.create_role ? 1 : 0

  name                 = "${var.name}-cwl"
  path                 = var.role_path
  description          = "CloudWatch Logs subscription filters ${var.name} put records into ${var.destination_arn}."
  assume_role_policy   = data.aws_iam_policy_document.logs_assume[0].json
  permissions_boundary = var.permissions_boundary
  tags                 = var.tags
}

resource "aws_iam_role_policy" "logs" {
  count = local.create_role ? 1 : 0

  name   = "put-records"
  role   = aws_iam_role.logs[0].id
  policy = data.aws_iam_policy_document.logs_put[0].json
}
