# The example in an empty account: only image_uris given, an OpenSearch Serverless collection is created.
mock_provider "aws" {
  source = "../../modules/lambda-function/tests/mock_aws"
}

variables {
  image_uris = { es_bulk_loader = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/logpipes/es_bulk_loader:abc123" }
}

run "empty_account_creates_a_serverless_collection" {
  command = plan

  assert {
    condition     = length(aws_opensearchserverless_collection.this) == 1 && aws_opensearchserverless_collection.this[0].type == "SEARCH"
    error_message = "by default the example must create one SEARCH collection"
  }
  assert {
    condition     = length(aws_opensearch_domain.this) == 0
    error_message = "no domain by default"
  }
  assert {
    condition     = jsondecode(aws_opensearchserverless_security_policy.encryption[0].policy).AWSOwnedKey && jsondecode(aws_opensearchserverless_security_policy.encryption[0].policy).Rules[0].Resource == ["collection/nasa-logs"]
    error_message = "the encryption policy must cover the collection with the AWS owned key"
  }
  assert {
    condition     = aws_opensearchserverless_security_policy.network[0].type == "network" && aws_opensearchserverless_access_policy.loader[0].type == "data"
    error_message = "the collection needs its network and data access policies"
  }
  assert {
    condition     = aws_opensearchserverless_collection.this[0].standby_replicas == "DISABLED"
    error_message = "the example's collection runs without standby replicas (the smallest)"
  }
}

run "a_domain_when_asked" {
  command = plan

  variables {
    opensearch_kind = "domain"
  }

  assert {
    condition     = length(aws_opensearch_domain.this) == 1 && length(aws_opensearchserverless_collection.this) == 0 && length(aws_opensearchserverless_access_policy.loader) == 0
    error_message = "opensearch_kind = domain must create a domain and no collection"
  }
}

run "an_existing_target_creates_neither" {
  command = plan

  variables {
    existing_opensearch = {
      endpoint = "search-logs-abc.eu-west-1.es.amazonaws.com"
      arn      = "arn:aws:es:eu-west-1:123456789012:domain/logs"
    }
  }

  assert {
    condition     = length(aws_opensearch_domain.this) == 0 && length(aws_opensearchserverless_collection.this) == 0 && length(aws_opensearchserverless_security_policy.encryption) == 0
    error_message = "existing_opensearch must create no domain and no collection"
  }
}
