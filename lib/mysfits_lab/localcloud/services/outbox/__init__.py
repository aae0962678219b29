"""The local cloud's email outbox: what it "sends" (Cognito verification codes, SNS email
notifications) is kept here for the learner, the lib and the tests to read."""
