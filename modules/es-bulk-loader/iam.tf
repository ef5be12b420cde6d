locals {
  source_objects      = "arn:${local.partition}:s3:::${var.source_bucket_name}/${var.source_prefix}*"
  work_objects        = "arn:${local.partition}:s3:::${local.work_bucket}/${var.work_prefix}"
  dead_letter_objects = "arn:${local.partition}:s3:::${local.dead_letter_bucket}/${var.dead_letter_prefix}*"

  # OpenSearch: a domain is called through paths of its ARN, a Serverless collection as a whole
  # (its data access policy, outside IAM, says which indices the roles may write).
  opensearch_put_resources = local.serverless ? [var.opensearch_arn] : [
    "${var.opensearch_arn}/_index_template/*",
    "${var.opensearch_arn}/_ingest/pipeline/*",
  ]
  opensearch_post_resources = local.serverless ? [var.opensearch_arn] : ["${var.opensearch_arn}/_bulk"]
  opensearch_put_actions    = local.serverless ? ["aoss:APIAccessAll"] : ["es:ESHttpPut"]
  opensearch_post_actions   = local.serverless ? ["aoss:APIAccessAll"] : ["es:ESHttpPost"]
}

# What every function needs besides what module.function gives it (its role, its own log group,
# and, in a VPC, the network interface actions instead of AWSLambdaVPCAccessExecutionRole, which
# also grants logs:* on every log group): S3's KMS keys (through S3 only).
data "aws_iam_policy_document" "lambda_common" {
  for_each = local.functions

  dynamic "statement" {
    for_each = length(var.s3_kms_key_arns) > 0 && each.key != "prepare" ? [1] : []
    content {
      sid       = "BucketKeysThroughS3"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = var.s3_kms_key_arns
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${local.region}.amazonaws.com"]
      }
    }
  }
}

data "aws_iam_policy_document" "prepare" {
  source_policy_documents = [data.aws_iam_policy_document.lambda_common["prepare"].json]

  statement {
    sid       = "PutIndexTemplateAndPipeline"
    actions   = local.opensearch_put_actions
    resources = local.opensearch_put_resources
  }
}

data "aws_iam_policy_document" "plan" {
  source_policy_documents = [data.aws_iam_policy_document.lambda_common["plan"].json]

  statement {
    sid       = "ListSourcePrefix"
    actions   = ["s3:ListBucket"]
    resources = ["arn:${local.partition}:s3:::${var.source_bucket_name}"]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.source_prefix}*"]
    }
  }
  statement {
    sid       = "ReadSourceObjects"
    actions   = ["s3:GetObject"]
    resources = [local.source_objects]
  }
  statement {
    sid       = "WriteChunksAndChunkLists"
    actions   = ["s3:PutObject"]
    resources = ["${local.work_objects}manifests/*", "${local.work_objects}chunks/*"]
  }
  statement {
    # A decompressed chunk over 5 MiB is a multipart upload (s3:PutObject covers creating, uploading
    # and completing it); when planning fails part-way, its parts are aborted, not left billed.
    sid       = "AbortChunkUploads"
    actions   = ["s3:AbortMultipartUpload"]
    resources = ["${local.work_objects}chunks/*"]
  }
}

data "aws_iam_policy_document" "load" {
  source_policy_documents = [data.aws_iam_policy_document.lambda_common["load"].json]

  statement {
    sid       = "ReadChunks"
    actions   = ["s3:GetObject"]
    resources = [local.source_objects, "${local.work_objects}chunks/*"]
  }
  statement {
    sid       = "WriteDeadLetters"
    actions   = ["s3:PutObject"]
    resources = [local.dead_letter_objects]
  }
  statement {
    # An over-long line is copied into its own dead-letter object by a multipart upload
    # (UploadPartCopy); when the copy fails, the upload is aborted, not left billed.
    sid       = "AbortDeadLetterUploads"
    actions   = ["s3:AbortMultipartUpload"]
    resources = [local.dead_letter_objects]
  }
  statement {
    sid       = "BulkIndex"
    actions   = local.opensearch_post_actions
    resources = local.opensearch_post_resources
  }
}

data "aws_iam_policy_document" "report" {
  source_policy_documents = [data.aws_iam_policy_document.lambda_common["report"].json]

  statement {
    sid       = "ReadMapResults"
    actions   = ["s3:GetObject"]
    resources = ["${local.work_objects}results/*"]
  }
}

locals {
  lambda_policies = {
    prepare = data.aws_iam_policy_document.prepare.json
    plan    = data.aws_iam_policy_document.plan.json
    load    = data.aws_iam_policy_document.load.json
    report  = data.aws_iam_policy_document.report.json
  }
}

# --- The state machine's role ---

data "aws_iam_policy_document" "state_machine_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "state_machine" {
  name                 = "${var.name}-state-machine"
  path                 = var.role_path
  description          = "logpipes es-bulk-loader state machine ${var.name}"
  assume_role_policy   = data.aws_iam_policy_document.state_machine_assume.json
  permissions_boundary = var.permissions_boundary
  tags                 = var.tags
}

data "aws_iam_policy_document" "state_machine" {
  statement {
    sid       = "InvokeSteps"
    actions   = ["lambda:InvokeFunction"]
    resources = flatten([for f in module.function : [f.function_arn, "${f.function_arn}:*"]])
  }
  statement {
    sid       = "ReadChunkLists"
    actions   = ["s3:GetObject"]
    resources = ["${local.work_objects}manifests/*"]
  }
  statement {
    sid       = "WriteMapResults"
    actions   = ["s3:PutObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"]
    resources = ["${local.work_objects}results/*"]
  }
  statement {
    # A Distributed Map runs its items as child executions of this state machine.
    sid       = "RunChildExecutions"
    actions   = ["states:StartExecution"]
    resources = [local.state_machine_arn]
  }
  statement {
    sid       = "FollowChildExecutions"
    actions   = ["states:DescribeExecution", "states:StopExecution"]
    resources = [local.executions_arn]
  }
  statement {
    # Log delivery (AWS requires "*") and X-Ray have no resource-level permissions.
    sid = "LogDeliveryAndTracing"
    actions = [
      "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
      "xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets",
    ]
    resources = ["*"]
  }
  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [1]
    content {
      sid       = "StateMachineData"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [var.kms_key_arn]
      condition {
        test     = "StringEquals"
        variable = "kms:EncryptionContext:aws:states:stateMachineArn"
        values   = [local.state_machine_arn]
      }
    }
  }
  dynamic "statement" {
    for_each = length(var.s3_kms_key_arns) > 0 ? [1] : []
    content {
      sid       = "BucketKeysThroughS3"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = var.s3_kms_key_arns
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${local.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "state_machine" {
  name   = "${var.name}-state-machine"
  role   = aws_iam_role.state_machine.id
  policy = data.aws_iam_policy_document.state_machine.json
}

# --- EventBridge starting executions for new objects ---

data "aws_iam_policy_document" "events_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    # Only this account's rule may pass the role (the confused-deputy protection).
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${var.name}-object-created"]
    }
  }
}

resource "aws_iam_role" "events" {
  count = var.s3_trigger.enabled ? 1 : 0

  name                 = "${var.name}-events"
  path                 = var.role_path
  description          = "EventBridge starts ${var.name} executions for new objects"
  assume_role_policy   = data.aws_iam_policy_document.events_assume.json
  permissions_boundary = var.permissions_boundary
  tags                 = var.tags
}

data "aws_iam_policy_document" "events" {
  statement {
    actions   = ["states:StartExecution"]
    resources = [local.state_machine_arn]
  }
}

resource "aws_iam_role_policy" "events" {
  count = var.s3_trigger.enabled ? 1 : 0

  name   = "${var.name}-events"
  role   = aws_iam_role.events[0].id
  policy = data.aws_iam_policy_document.events.json
}
