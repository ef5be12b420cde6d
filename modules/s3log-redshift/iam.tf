# --- The loader's execution role --------------------------------------------------------------

# module.function creates the role (or takes function_role_arn) with its own-logs statement;
# this is what the loader needs besides.
data "aws_iam_policy_document" "function" {
  statement {
    sid       = "ConsumeNotifications"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"]
    resources = [module.queue.arn]
  }

  statement {
    sid       = "ReadAccessLogs"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = ["${local.log_bucket_arn}/${var.log_prefix}*"]
  }

  statement {
    sid     = "WriteStagedFilesAndRejects"
    actions = ["s3:PutObject"]
    resources = [
      "${local.staging_bucket_arn}/${var.staging_prefix}*",
      "${local.staging_bucket_arn}/${var.rejects_prefix}*",
    ]
  }

  statement {
    sid       = "RunStatementsOnThisDatabase"
    actions   = ["redshift-data:BatchExecuteStatement", "redshift-data:ExecuteStatement"]
    resources = [local.is_serverless ? local.workgroup_arn : local.cluster_arn]
  }

  statement {
    sid = "FollowOwnStatements"
    # These actions have no resource-level permissions; the condition limits them to statements
    # this role submitted.
    actions   = ["redshift-data:DescribeStatement", "redshift-data:GetStatementResult", "redshift-data:CancelStatement"]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "redshift-data:statement-owner-iam-userid"
      values   = ["$${aws:userid}"]
    }
  }

  dynamic "statement" {
    for_each = local.auth_mode == "secret" ? [1] : []
    content {
      sid       = "DatabaseCredentialsFromTheSecret"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [var.redshift_secret_arn]
    }
  }

  dynamic "statement" {
    for_each = local.auth_mode == "secret" && var.redshift_secret_kms_key_arn != null ? [1] : []
    content {
      sid       = "DecryptTheSecret"
      actions   = ["kms:Decrypt"]
      resources = [var.redshift_secret_kms_key_arn]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${local.region}.amazonaws.com"]
      }
    }
  }

  dynamic "statement" {
    for_each = local.auth_mode == "db_user" ? [1] : []
    content {
      sid     = "TemporaryCredentialsOfTheDatabaseUser"
      actions = ["redshift:GetClusterCredentials"]
      resources = [
        "arn:${local.partition}:redshift:${local.region}:${local.account_id}:dbuser:${var.redshift_cluster_identifier}/${coalesce(var.redshift_db_user, "-")}",
        "arn:${local.partition}:redshift:${local.region}:${local.account_id}:dbname:${var.redshift_cluster_identifier}/${var.redshift_database}",
      ]
    }
  }

  dynamic "statement" {
    for_each = local.auth_mode == "iam" && !local.is_serverless ? [1] : []
    content {
      sid       = "TemporaryCredentialsOfThisRole"
      actions   = ["redshift:GetClusterCredentialsWithIAM"]
      resources = ["arn:${local.partition}:redshift:${local.region}:${local.account_id}:dbname:${var.redshift_cluster_identifier}/${var.redshift_database}"]
    }
  }

  dynamic "statement" {
    for_each = local.auth_mode == "iam" && local.is_serverless ? [1] : []
    content {
      sid       = "TemporaryCredentialsOfThisRole"
      actions   = ["redshift-serverless:GetCredentials"]
      resources = [local.workgroup_arn]
    }
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [1]
    content {
      sid       = "QueueBucketAndEnvironmentKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [var.kms_key_arn]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["sqs.${local.region}.amazonaws.com", "s3.${local.region}.amazonaws.com", "lambda.${local.region}.amazonaws.com"]
      }
    }
  }
}

# --- The role Redshift assumes to read the staged files (COPY … IAM_ROLE) ----------------------

data "aws_iam_policy_document" "copy_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = local.is_serverless ? ["redshift.amazonaws.com", "redshift-serverless.amazonaws.com"] : ["redshift.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "copy" {
  count = var.create_copy_role ? 1 : 0

  name_prefix          = "${substr(var.name, 0, 30)}-copy-"
  path                 = var.role_path
  description          = "Assumed by Redshift to COPY the staged files of the logpipes pipeline ${var.name}."
  assume_role_policy   = data.aws_iam_policy_document.copy_assume.json
  permissions_boundary = var.permissions_boundary
  tags                 = var.tags
}

data "aws_iam_policy_document" "copy" {
  statement {
    sid       = "ReadStagedFiles"
    actions   = ["s3:GetObject"]
    resources = ["${local.staging_bucket_arn}/${var.staging_prefix}*"]
  }

  statement {
    sid       = "LocateTheStagingBucket"
    actions   = ["s3:GetBucketLocation"]
    resources = [local.staging_bucket_arn]
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [1]
    content {
      sid       = "DecryptStagedFiles"
      actions   = ["kms:Decrypt"]
      resources = [var.kms_key_arn]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${local.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "copy" {
  count = var.create_copy_role ? 1 : 0

  name   = "read-staged-files"
  role   = aws_iam_role.copy[0].id
  policy = data.aws_iam_policy_document.copy.json
}
