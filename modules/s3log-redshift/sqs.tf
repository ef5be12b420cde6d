# --- The notification queue and its dead-letter queue -------------------------------------------

module "queue" {
  source = "../private-queue"

  name = "${var.name}-notifications"
  # A notification waits at most until its object is loaded; the DLQ keeps what could not be.
  message_retention_seconds     = 345600
  visibility_timeout_seconds    = local.visibility_timeout_seconds
  receive_wait_time_seconds     = 20
  kms_key_arn                   = var.kms_key_arn
  create_dead_letter_queue      = true
  max_receive_count             = var.max_receive_count
  dead_letter_retention_seconds = var.dead_letter_retention_seconds
  policy_documents              = [data.aws_iam_policy_document.notifications.json]
  tags                          = var.tags
}

data "aws_iam_policy_document" "notifications" {
  statement {
    sid       = "LogBucketNotifications"
    actions   = ["sqs:SendMessage"]
    resources = [module.queue.arn]
    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [local.log_bucket_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_s3_bucket_notification" "log_bucket" {
  count = var.create_bucket_notification ? 1 : 0

  bucket = var.log_bucket_name

  queue {
    id            = "${var.name}-access-logs"
    queue_arn     = module.queue.arn
    events        = ["s3:ObjectCreated:*"]
    filter_prefix = var.log_prefix == "" ? null : var.log_prefix
  }

  # S3 checks that it may send to the queue when the configuration is saved.
  depends_on = [module.queue]
}
