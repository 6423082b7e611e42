"""The widget's demo page: an ordinary web page that embeds the widget with one script tag."""

from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_exempt


@xframe_options_exempt
def widget_demo(request):
    entry_point = request.GET.get("entry_point", "widget-europe")[:100]
    return render(request, "chat/demo.html", {"entry_point": entry_point})
