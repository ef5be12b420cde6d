output "photos_bucket" {
  description = "The logged business bucket: requests to it end up in Redshift."
  value       = aws_s3_bucket.photos.id
}

output "log_bucket" {
  description = "Bucket receiving the S3 server access logs."
  value       = aws_s3_bucket.logs.id
}

output "log_prefix" {
  description = "Prefix of the access log objects in the log bucket."
  value       = local.log_prefix
}

output "queue_url" {
  description = "Notification queue of new log objects."
  value       = module.s3log_redshift.queue_url
}

output "dead_letter_queue_url" {
  description = "Notifications whose objects could not be loaded."
  value       = module.s3log_redshift.dead_letter_queue_url
}

output "staging_bucket" {
  description = "Staged gzip CSV files, manifests and reject records."
  value       = module.s3log_redshift.staging_bucket_name
}

output "lambda_function_name" {
  description = "The loader."
  value       = module.s3log_redshift.function_name
}

output "lambda_role_name" {
  description = "The loader's role: with IAM authentication its database user is IAMR:<this name>."
  value       = module.s3log_redshift.role_name
}

output "copy_role_arn" {
  description = "Associate this role with the cluster or namespace so that COPY can read the staged files."
  value       = module.s3log_redshift.copy_role_arn
}

output "target_table" {
  description = "Where the rows land."
  value       = module.s3log_redshift.target_table
}

output "ledger_table" {
  description = "The load ledger."
  value       = module.s3log_redshift.ledger_table
}
