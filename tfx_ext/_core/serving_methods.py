"""TF Serving's signature method names, shared by export and the local server.

TF Serving's Classify and Regress APIs check a signature's `method_name`;
Predict accepts any signature.
"""

PREDICT_METHOD = "tensorflow/serving/predict"
CLASSIFY_METHOD = "tensorflow/serving/classify"
REGRESS_METHOD = "tensorflow/serving/regress"
