# Asynchronous invocations that still fail after the retries (an invalid payload, a file system
# error) are parked in an encrypted, TLS-only queue with the error, not dropped.

module "failures" {
  source = "../../../private-queue"

  name                      = "${var.name}-failures"
  message_retention_seconds = 1209600 # 14 days, the maximum
  kms_key_arn               = var.kms_key_arn
  tags                      = var.tags
}

resource "aws_lambda_function_event_invoke_config" "this" {
  function_name                = module.function.function_name
  maximum_retry_attempts       = var.maximum_retry_attempts
  maximum_event_age_in_seconds = var.maximum_event_age_in_seconds

  destination_config {
    on_failure {
      destination = module.failures.arn
    }
  }
}
