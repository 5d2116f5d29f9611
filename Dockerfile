FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY marketplace marketplace
COPY sellers sellers
COPY invoicing invoicing
COPY reporting reporting
COPY manage.py ./
RUN pip install --no-cache-dir . gunicorn
RUN python manage.py collectstatic --noinput
EXPOSE 8000 8765
CMD ["gunicorn", "marketplace.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3"]
