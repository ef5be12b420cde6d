# The pipeline's alarms besides the loader's Errors and Throttles (module.function adds those;
# its custom metrics are watched under its own service name).
locals {
  alarms = {
    dead-letters = {
      description = "Notifications of log objects that could not be loaded after ${var.max_receive_count} attempts are in ${module.queue.dead_letter_queue_name}: their rows are not in Redshift."
      namespace   = "AWS/SQS"
      metric      = "ApproximateNumberOfMessagesVisible"
      statistic   = "Maximum"
      dimensions  = { QueueName = module.queue.dead_letter_queue_name }
    }
    oldest-notification = {
      description = "The oldest waiting notification is older than ${var.oldest_message_age_threshold_seconds}s: loads are failing or falling behind."
      namespace   = "AWS/SQS"
      metric      = "ApproximateAgeOfOldestMessage"
      statistic   = "Maximum"
      threshold   = var.oldest_message_age_threshold_seconds
      dimensions  = { QueueName = module.queue.name }
    }
    failed-loads = {
      description = "A load transaction failed (its Redshift error is in the loader's log): the batch is retried."
      namespace   = "logpipes"
      metric      = "LoadFailures"
    }
    rejected-lines = {
      description = "Log lines did not parse and were written under ${var.rejects_prefix} in the staging bucket: check the format."
      namespace   = "logpipes"
      metric      = "LinesRejected"
    }
  }
}
