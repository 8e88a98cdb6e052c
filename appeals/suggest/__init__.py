"""智能分拨: the category suggested from the resident's words (issue 26).

- ``coldstart``: the cold-start corpus shipped with the code (``corpus/<code>.txt``).
- ``engine``: the text features (character n-grams) and the classifier, trained and
  measured on a held-out fifth; scikit-learn is imported only here.
- ``services``: training (``model_train``: corpus + closed appeals, replace only if not
  worse), the current model loaded once per process (``current``, ``suggest``).
- ``similar``: 类案参考, the most similar closed appeals of the same street.
- ``records``: each suggestion shown, accepted or overridden; the acceptance per month.
"""
