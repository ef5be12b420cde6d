# The execution role: only Lambda in this account may assume it; it may write its own log group,
# plus what the caller's policy documents grant.

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "this" {
  count = var.create_role ? 1 : 0

  name                 = var.role_name
  name_prefix          = var.role_name == null ? "${substr(var.name, 0, 37)}-" : null
  path                 = var.role_path
  description          = "Execution role of the logpipes function ${var.name}."
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  permissions_boundary = var.permissions_boundary
  tags                 = var.tags
}

data "aws_iam_policy_document" "this" {
  # checkov:skip=CKV_AWS_111:Only the VPC network interface and X-Ray actions take Resource "*", because they have no resource-level permissions.
  # checkov:skip=CKV_AWS_356:Only the VPC network interface and X-Ray actions take Resource "*", because they have no resource-level permissions.
  source_policy_documents = var.policy_documents

  statement {
    sid       = "OwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]
    content {
      sid       = "DecryptOwnEnvironment"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["lambda.${data.aws_region.current.name}.amazonaws.com"]
      }
    }
  }

  dynamic "statement" {
    for_each = var.tracing_mode == "Active" ? [1] : []
    content {
      sid = "Tracing"
      # X-Ray's PutTraceSegments and PutTelemetryRecords do not support resource-level permissions.
      actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
      resources = ["*"]
    }
  }

  dynamic "statement" {
    for_each = var.vpc_config == null ? [] : [1]
    content {
      sid = "VpcNetworkInterfaces"
      # Lambda's network interface actions do not support resource-level permissions.
      actions = [
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
      ]
      resources = ["*"]
    }
  }
}

resource "aws_iam_role_policy" "this" {
  count = var.create_role ? 1 : 0

  name   = "function"
  role   = aws_iam_role.this[0].id
  policy = data.aws_iam_policy_document.this.json
}
