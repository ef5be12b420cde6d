mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{}" }
  }
  mock_resource "aws_sqs_queue" {
    defaults = {
      arn = "arn:aws:sqs:eu-west-1:123456789012:web-logs-failures"
      id  = "https://sqs.eu-west-1.amazonaws.com/123456789012/web-logs-failures"
    }
  }
}

variables {
  name = "web-logs-failures"
}

run "defaults_are_encrypted_and_tls_only_without_a_dead_letter_queue" {
  command = apply

  assert {
    condition     = aws_sqs_queue.this.sqs_managed_sse_enabled && aws_sqs_queue.this.kms_master_key_id == null
    error_message = "Without a key the queue uses SQS managed SSE."
  }
  assert {
    condition     = length(aws_sqs_queue.dead_letter) == 0 && keys(aws_sqs_queue_policy.this) == ["this"] && output.dead_letter_queue_arn == null
    error_message = "One queue, one policy."
  }
  assert {
    condition = alltrue([
      one(data.aws_iam_policy_document.this["this"].statement).effect == "Deny",
      one(data.aws_iam_policy_document.this["this"].statement).actions == toset(["sqs:*"]),
      one(one(data.aws_iam_policy_document.this["this"].statement).condition).variable == "aws:SecureTransport",
      one(one(data.aws_iam_policy_document.this["this"].statement).condition).values == tolist(["false"]),
      one(data.aws_iam_policy_document.this["this"].statement).resources == toset(["arn:aws:sqs:eu-west-1:123456789012:web-logs-failures"]),
    ])
    error_message = "The queue policy must deny every request without TLS."
  }
}

run "dead_letter_queue_key_and_caller_statements" {
  command   = apply
  state_key = "with-dlq"

  variables {
    name                       = "photo-logs-notifications"
    kms_key_arn                = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    create_dead_letter_queue   = true
    max_receive_count          = 3
    visibility_timeout_seconds = 1860
    policy_documents           = ["{\"Version\":\"2012-10-17\",\"Statement\":[]}"]
  }

  assert {
    condition     = aws_sqs_queue.dead_letter[0].name == "photo-logs-notifications-dead-letter" && aws_sqs_queue.dead_letter[0].message_retention_seconds == 1209600
    error_message = "The dead-letter queue keeps messages 14 days."
  }
  assert {
    condition     = jsondecode(aws_sqs_queue.this.redrive_policy) == { deadLetterTargetArn = aws_sqs_queue.dead_letter[0].arn, maxReceiveCount = 3 }
    error_message = "Messages move to the dead-letter queue after max_receive_count receives."
  }
  assert {
    condition = alltrue([
      for queue in [aws_sqs_queue.this, aws_sqs_queue.dead_letter[0]] :
      queue.kms_master_key_id == var.kms_key_arn && queue.kms_data_key_reuse_period_seconds == 300
    ])
    error_message = "Both queues use the customer managed key."
  }
  assert {
    condition     = toset(keys(aws_sqs_queue_policy.this)) == toset(["this", "dead_letter"]) && one(data.aws_iam_policy_document.this["dead_letter"].statement).sid == "DenyInsecureTransport"
    error_message = "The dead-letter queue is TLS-only too."
  }
  assert {
    condition     = data.aws_iam_policy_document.this["this"].source_policy_documents == var.policy_documents && length(data.aws_iam_policy_document.this["dead_letter"].source_policy_documents) == 0
    error_message = "The caller's statements go into the main queue's policy only."
  }
  assert {
    condition     = aws_sqs_queue.this.visibility_timeout_seconds == 1860
    error_message = "The visibility timeout reaches the queue."
  }
}

run "kms_alias_is_rejected" {
  command = plan

  variables {
    kms_key_arn = "alias/aws/sqs"
  }

  expect_failures = [var.kms_key_arn]
}

run "retention_is_at_most_14_days" {
  command = plan

  variables {
    message_retention_seconds = 1209601
  }

  expect_failures = [var.message_retention_seconds]
}
