"""The fault tests' SMS gateway: each send is one JSON line appended to FAULT_SMS_FILE (the
app's processes and the test share no memory). A real appeals.sms backend: it renders the
template as the gateway would and keeps the idempotency key, so that the test can count
what was sent, per message."""

import fcntl
import json
import os

from appeals import sms


class FileSmsBackend(sms.SmsBackend):
    def send(self, *, phone: str, template: str, params: dict, key: str) -> None:
        line = json.dumps({"key": key, "phone": phone, "template": template, "code": params.get("code", ""),
                           "text": sms.render(template, params), "pid": os.getpid()}, ensure_ascii=False)
        with open(os.environ["FAULT_SMS_FILE"], "a", encoding="utf-8") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            f.write(line + "\n")
