"""Makes the access key Concord's tests sign with, on the local S3-compatible server (moto).

The server is started to answer its first three calls without authentication; these are they:
a user, a policy allowing it every S3 action, and its key pair. From then on it checks the
signature of every request, so a test that passes signs as S3 does. Prints "ACCESS SECRET".
"""
import json
import sys

import boto3

iam = boto3.client("iam", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
iam.create_user(UserName="concord")
iam.put_user_policy(UserName="concord", PolicyName="objects", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
key = iam.create_access_key(UserName="concord")["AccessKey"]
print(key["AccessKeyId"], key["SecretAccessKey"])
