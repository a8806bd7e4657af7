"""(being written)"""
from django.http import HttpResponse


def propose(request, *args, **kwargs):
    return HttpResponse(status=501)
