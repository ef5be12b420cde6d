# The AWS account this module's terraform tests (and its efs-archiver's) run against
# (mock_provider "aws" { source = "./tests/mock_aws" }).

mock_data "aws_caller_identity" { defaults = { account_id = "111122223333" } }
mock_data "aws_region" { defaults = { name = "ap-northeast-1" } }
mock_data "aws_partition" { defaults = { partition = "aws" } }

# Mocked documents keep their statements (asserted in the tests); their rendered JSON is a stand-in.
mock_data "aws_iam_policy_document" { defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" } }
