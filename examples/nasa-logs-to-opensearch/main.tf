# NASA-HTTP access logs in S3 -> es-bulk-loader (Step Functions, Distributed Map of Lambdas) ->
# an OpenSearch domain, one index per day: nasa-logs-1995.07.01, ...

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  create_collection = var.existing_opensearch == null && var.opensearch_kind == "serverless"
  create_domain     = var.existing_opensearch == null && var.opensearch_kind == "domain"
  opensearch_endpoint = (
    local.create_collection ? aws_opensearchserverless_collection.this[0].collection_endpoint :
    local.create_domain ? aws_opensearch_domain.this[0].endpoint : var.existing_opensearch.endpoint
  )
  opensearch_arn = (
    local.create_collection ? aws_opensearchserverless_collection.this[0].arn :
    local.create_domain ? aws_opensearch_domain.this[0].arn : var.existing_opensearch.arn
  )
  work_prefix = "es-bulk-loader/work/"
}

# --- One key for everything the example stores: bucket, domain, logs, state machine ---

data "aws_iam_policy_document" "key" {
  # checkov:skip=CKV_AWS_109:A key policy's resource is always the key itself ("*"); the root statement delegates to IAM.
  # checkov:skip=CKV_AWS_111:A key policy's resource is always the key itself ("*").
  # checkov:skip=CKV_AWS_356:A key policy's resource is always the key itself ("*").
  statement {
    sid       = "AccountAdministersThroughIam"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
  statement {
    sid = "CloudWatchLogsOfThisAccount"
    # What CloudWatch Logs calls on a log group's key, spelled out instead of ReEncrypt* and GenerateDataKey*.
    actions = [
      "kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo",
      "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey",
    ]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${data.aws_region.current.name}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:*"]
    }
  }
}

resource "aws_kms_key" "this" {
  description         = "${var.name}: logs bucket, OpenSearch domain, log groups, state machine"
  enable_key_rotation = true
  policy              = data.aws_iam_policy_document.key.json
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}

# --- The bucket the log files are put in ---

resource "aws_s3_bucket" "logs" {
  # checkov:skip=CKV_AWS_18:Access logging of this bucket needs a second bucket; add one in production.
  # checkov:skip=CKV_AWS_144:Cross-region replication is a disaster-recovery choice, not part of the example.
  bucket_prefix = "${var.name}-"
  # An example stack: let destroy remove the loaded files and working objects too.
  force_destroy = true
}

resource "aws_s3_bucket_versioning" "logs" {
  bucket = aws_s3_bucket.logs.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.this.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "logs" {
  bucket                  = aws_s3_bucket.logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id

  rule {
    id     = "expire-loader-work-objects"
    status = "Enabled"
    filter {
      prefix = local.work_prefix
    }
    expiration {
      days = 7
    }
  }
  rule {
    id     = "tidy-versions-and-uploads"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

data "aws_iam_policy_document" "logs_bucket" {
  statement {
    sid       = "TlsOnly"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.logs.arn, "${aws_s3_bucket.logs.arn}/*"]
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

resource "aws_s3_bucket_policy" "logs" {
  bucket = aws_s3_bucket.logs.id
  policy = data.aws_iam_policy_document.logs_bucket.json

  depends_on = [aws_s3_bucket_public_access_block.logs]
}

# --- The OpenSearch Serverless collection (the default) ---

# SEARCH, not TIMESERIES: the loader gives every document an _id (file digest + line offset, so that
# a retried chunk overwrites instead of duplicating), and TIMESERIES collections refuse custom ids.
resource "aws_opensearchserverless_collection" "this" {
  count = local.create_collection ? 1 : 0

  name             = var.name
  type             = "SEARCH"
  standby_replicas = var.collection_standby_replicas ? "ENABLED" : "DISABLED"

  depends_on = [aws_opensearchserverless_security_policy.encryption, aws_opensearchserverless_security_policy.network]
}

# A collection cannot be created before an encryption policy covers its name: AWS owned key.
resource "aws_opensearchserverless_security_policy" "encryption" {
  count = local.create_collection ? 1 : 0

  name = "${var.name}-encryption"
  type = "encryption"
  policy = jsonencode({
    Rules       = [{ ResourceType = "collection", Resource = ["collection/${var.name}"] }]
    AWSOwnedKey = true
  })
}

# The endpoint and Dashboards are reachable from the internet, as a public domain endpoint is; every
# request still needs SigV4 credentials that the data access policy below admits.
resource "aws_opensearchserverless_security_policy" "network" {
  count = local.create_collection ? 1 : 0

  name = "${var.name}-network"
  type = "network"
  policy = jsonencode([{
    Rules = [
      { ResourceType = "collection", Resource = ["collection/${var.name}"] },
      { ResourceType = "dashboard", Resource = ["collection/${var.name}"] },
    ]
    AllowFromPublic = true
  }])
}

# The loader's roles may manage the index templates and write the indices of index_pattern, nothing else.
resource "aws_opensearchserverless_access_policy" "loader" {
  count = local.create_collection ? 1 : 0

  name = "${var.name}-loader"
  type = "data"
  policy = jsonencode([{
    Rules = [
      {
        ResourceType = "collection"
        Resource     = ["collection/${var.name}"]
        Permission   = ["aoss:CreateCollectionItems", "aoss:UpdateCollectionItems", "aoss:DescribeCollectionItems"]
      },
      {
        ResourceType = "index"
        Resource     = ["index/${var.name}/${local.index_name_prefix}*"]
        Permission   = ["aoss:CreateIndex", "aoss:UpdateIndex", "aoss:DescribeIndex", "aoss:WriteDocument"]
      },
    ]
    Principal = module.loader.opensearch_writer_role_arns
  }])
}

locals {
  # The literal part of index_pattern before its first strftime field: nasa-logs-%Y.%m.%d -> nasa-logs-.
  index_name_prefix = split("%", var.index_pattern)[0]
}

# --- The OpenSearch domain (opensearch_kind = "domain") ---

resource "aws_cloudwatch_log_group" "opensearch" {
  for_each = local.create_domain ? toset(["application", "index-slow", "search-slow"]) : toset([])
  # checkov:skip=CKV_AWS_338:Domain diagnostics; 30 days is enough for an example.

  name              = "/aws/opensearch/${var.name}/${each.key}"
  retention_in_days = 30
  kms_key_id        = aws_kms_key.this.arn
}

data "aws_iam_policy_document" "opensearch_logs" {
  count = local.create_domain ? 1 : 0

  statement {
    actions   = ["logs:PutLogEvents", "logs:CreateLogStream"]
    resources = [for group in aws_cloudwatch_log_group.opensearch : "${group.arn}:*"]
    principals {
      type        = "Service"
      identifiers = ["es.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_cloudwatch_log_resource_policy" "opensearch" {
  count = local.create_domain ? 1 : 0

  policy_name     = "${var.name}-opensearch-logs"
  policy_document = data.aws_iam_policy_document.opensearch_logs[0].json
}

resource "aws_opensearch_domain" "this" {
  count = local.create_domain ? 1 : 0
  # checkov:skip=CKV2_AWS_59:Dedicated master nodes cost more than the example's two data nodes; add them (three) for production clusters.
  # checkov:skip=CKV_AWS_318:Dedicated master nodes: see CKV2_AWS_59.
  # checkov:skip=CKV_AWS_137:A public endpoint admitting only the loader's roles (domain policy below); a VPC domain would put the Lambdas in a VPC too, which the example avoids.
  # checkov:skip=CKV_AWS_248:Not in a VPC, so no security group at all (see CKV_AWS_137).
  # checkov:skip=CKV_AWS_317:Audit logs need fine-grained access control, which this IAM-only domain does not enable (see CKV2_AWS_52).
  # checkov:skip=CKV2_AWS_52:Access is IAM-only: the loader's roles may POST _bulk and PUT index templates, nothing else. Fine-grained access control would also need a role mapping made through the OpenSearch API (see the README).

  domain_name    = var.name
  engine_version = "OpenSearch_2.13"

  cluster_config {
    instance_type          = var.opensearch_instance_type
    instance_count         = var.opensearch_instance_count
    zone_awareness_enabled = var.opensearch_instance_count > 1

    dynamic "zone_awareness_config" {
      for_each = var.opensearch_instance_count > 1 ? [1] : []
      content {
        availability_zone_count = 2
      }
    }
  }

  ebs_options {
    ebs_enabled = true
    volume_type = "gp3"
    volume_size = var.opensearch_volume_gb
  }

  encrypt_at_rest {
    enabled    = true
    kms_key_id = aws_kms_key.this.arn
  }

  node_to_node_encryption {
    enabled = true
  }

  domain_endpoint_options {
    enforce_https       = true
    tls_security_policy = "Policy-Min-TLS-1-2-2019-07"
  }

  dynamic "log_publishing_options" {
    for_each = { ES_APPLICATION_LOGS = "application", INDEX_SLOW_LOGS = "index-slow", SEARCH_SLOW_LOGS = "search-slow" }
    content {
      log_type                 = log_publishing_options.key
      cloudwatch_log_group_arn = aws_cloudwatch_log_group.opensearch[log_publishing_options.value].arn
    }
  }

  depends_on = [aws_cloudwatch_log_resource_policy.opensearch]
}

# The domain lets the loader's roles do exactly what their IAM policies allow, and nobody else in.
data "aws_iam_policy_document" "domain_access" {
  count = local.create_domain ? 1 : 0

  statement {
    sid       = "LoaderWrites"
    actions   = ["es:ESHttpPost", "es:ESHttpPut"]
    resources = ["${aws_opensearch_domain.this[0].arn}/_bulk", "${aws_opensearch_domain.this[0].arn}/_index_template/*", "${aws_opensearch_domain.this[0].arn}/_ingest/pipeline/*"]
    principals {
      type        = "AWS"
      identifiers = module.loader.opensearch_writer_role_arns
    }
  }
}

resource "aws_opensearch_domain_policy" "this" {
  count = local.create_domain ? 1 : 0

  domain_name     = aws_opensearch_domain.this[0].domain_name
  access_policies = data.aws_iam_policy_document.domain_access[0].json
}

# --- The loader ---

module "loader" {
  source = "../../modules/es-bulk-loader"

  name                = var.name
  image_uri           = var.image_uris["es_bulk_loader"]
  opensearch_endpoint = local.opensearch_endpoint
  opensearch_arn      = local.opensearch_arn
  source_bucket_name  = aws_s3_bucket.logs.id
  source_prefix       = "nasa/"
  work_prefix         = local.work_prefix
  index_pattern       = var.index_pattern
  number_of_replicas  = var.opensearch_instance_count > 1 ? 1 : 0
  chunk_bytes         = var.chunk_bytes
  bulk_bytes          = var.bulk_bytes
  max_concurrency     = var.max_concurrency
  kms_key_arn         = aws_kms_key.this.arn
  s3_kms_key_arns     = [aws_kms_key.this.arn]
  alarm_actions       = var.alarm_actions

  s3_trigger = {
    enabled = true
    prefix  = var.incoming_prefix
  }
}
