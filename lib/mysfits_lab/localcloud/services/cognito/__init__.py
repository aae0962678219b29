"""Cognito user pools as AWS runs them: each pool signs its tokens with its own key (served as
its JWKS), sign-up is checked against the pool's password policy, and the verification code is
emailed to the local outbox and must be confirmed."""
