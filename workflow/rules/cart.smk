# cart branch rules
