# An SQS queue that is encrypted at rest (SSE-SQS, or a customer managed key) and reachable over
# TLS only, with an optional dead-letter queue built the same way.

locals {
  # kms_data_key_reuse_period_seconds applies to customer managed keys only.
  kms_data_key_reuse_period_seconds = var.kms_key_arn == null ? null : 300
  sqs_managed_sse_enabled           = var.kms_key_arn == null ? true : null
}

resource "aws_sqs_queue" "dead_letter" {
  count = var.create_dead_letter_queue ? 1 : 0

  name                              = "${var.name}-dead-letter"
  message_retention_seconds         = var.dead_letter_retention_seconds
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = local.kms_data_key_reuse_period_seconds
  sqs_managed_sse_enabled           = local.sqs_managed_sse_enabled
  tags                              = var.tags
}

resource "aws_sqs_queue" "this" {
  name                              = var.name
  message_retention_seconds         = var.message_retention_seconds
  visibility_timeout_seconds        = var.visibility_timeout_seconds
  receive_wait_time_seconds         = var.receive_wait_time_seconds
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = local.kms_data_key_reuse_period_seconds
  sqs_managed_sse_enabled           = local.sqs_managed_sse_enabled
  tags                              = var.tags

  redrive_policy = var.create_dead_letter_queue ? jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dead_letter[0].arn
    maxReceiveCount     = var.max_receive_count
  }) : null
}

locals {
  # Each queue's policy: the caller's statements (for the main queue) and the TLS-only deny.
  queues = merge(
    { this = { url = aws_sqs_queue.this.id, arn = aws_sqs_queue.this.arn, policy_documents = var.policy_documents } },
    var.create_dead_letter_queue ? { dead_letter = { url = aws_sqs_queue.dead_letter[0].id, arn = aws_sqs_queue.dead_letter[0].arn, policy_documents = [] } } : {},
  )
}

data "aws_iam_policy_document" "this" {
  for_each = local.queues

  source_policy_documents = each.value.policy_documents

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [each.value.arn]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sqs_queue_policy" "this" {
  for_each = local.queues

  queue_url = each.value.url
  policy    = data.aws_iam_policy_document.this[each.key].json
}
