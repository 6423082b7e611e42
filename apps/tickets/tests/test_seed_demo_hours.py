"""seed_demo turns the demo switch on, so the desk can be tried any day; --real-hours turns it off."""

from django.core.management import call_command

from apps.policy.services import demo_mode_on


def test_seed_demo_turns_demo_mode_on_and_says_so(db, capsys, settings):
    settings.DEBUG = True
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert demo_mode_on()
    assert out.count("Demo mode on: chat and phone stay open any day") == 1
    assert "--real-hours" in out and "Real hours" not in out


def test_seed_demo_with_real_hours_turns_demo_mode_off_and_says_so(db, capsys, settings):
    settings.DEBUG = True
    call_command("seed_demo")
    capsys.readouterr()
    call_command("seed_demo", "--real-hours")
    out = capsys.readouterr().out
    assert not demo_mode_on()
    assert "Real hours: chat and phone open only in the policy's hours (demo mode off)." in out
    assert "Demo mode on" not in out


def test_make_runs_seeding_keeps_the_administrators_switch(db, capsys, settings):
    settings.DEBUG = True
    call_command("seed_demo", "--real-hours")
    call_command("seed_demo", "--keep-demo-mode")
    out = capsys.readouterr().out
    assert not demo_mode_on() and out.count("Real hours") == 2 and "Demo mode on" not in out
    call_command("seed_demo")                   # asked for by name: the demo's switch
    assert demo_mode_on()
