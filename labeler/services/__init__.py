"""The only layer that mixes the database with the pure cores.

Views and tasks parse their input, call one function here, and render the result.
"""
