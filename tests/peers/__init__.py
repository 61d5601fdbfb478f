"""The servers tests run against, each started and stopped by its fixture on
127.0.0.1: Dovecot and an SMTP peer (aiosmtpd), Synapse, local stand-ins for
Twilio's Messages API and the Telegram Bot API speaking their documented
JSON, a throwaway PostgreSQL cluster, and a proxy that loses answers."""
