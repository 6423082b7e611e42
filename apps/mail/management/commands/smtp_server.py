import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from apps.mail.smtp import make_controller


class Command(BaseCommand):
    help = "Receive mail over SMTP (aiosmtpd): each message is stored before it is accepted."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.MAIL_SMTP_HOST)
        parser.add_argument("--port", type=int, default=settings.MAIL_SMTP_PORT)

    def handle(self, *args, host, port, **options):
        controller = make_controller(host=host, port=port)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        controller.start()
        self.stdout.write(f"SMTP listener on {host}:{port} (limit {settings.MAIL_MAX_BYTES} bytes)")
        self.stdout.flush()
        try:
            stop.wait()
        finally:
            controller.stop()
            controller.handler.close()
